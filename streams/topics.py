"""Creating the topics the worker uses, before Faust starts.

Faust only creates its own internal topics, and it needs to know the input topic's partition
count up front: tables must be co-partitioned with their source. So the worker asks Kafka
first: an existing input topic is used with whatever partitions it has; a missing one is
created with TOPIC_PARTITIONS. The audit and DLQ topics follow the input's partition count
(records keep their conversation's partition); the integrations and audit summary topics are
compacted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from integrations.kafka_config import confluent_config
from streams.settings import ClientSettings

if TYPE_CHECKING:  # the seam imports Faust, which commands that make no worker never load
    from collections.abc import Iterable

    from streams.seam.faust_topics import FaustTopic

log = logging.getLogger(__name__)

_TIMEOUT = 30.0


@dataclass(frozen=True)
class TopicLayout:
    """What the worker found or made of its topics."""

    input_partitions: int
    # What Faust's own topics (the changelog) are created with: TOPIC_REPLICATION_FACTOR, or
    # the broker's default.replication.factor when that is -1 (unset).
    replication_factor: int = 1
    # How long the input topic can still hold a record (streams/pruning.py): its retention.ms
    # (None: forever, or unknown) and segment.ms.
    input_retention_ms: int | None = None
    input_segment_ms: int | None = None


# The summary's latest value per key is all that is read: compacted, and segments rolled
# often, so what compaction has not folded yet stays small (integrations/audit_summary.py).
SUMMARY_CONFIG = {
    "cleanup.policy": "compact",
    "segment.ms": str(10 * 60 * 1000),
    "min.cleanable.dirty.ratio": "0.1",
}


def ensure_topics(settings: ClientSettings) -> TopicLayout:
    admin = AdminClient(confluent_config(settings))
    partitions = _partitions(admin, settings.input_topic)
    if partitions is None:
        partitions = settings.topic_partitions
        _create(admin, settings, settings.input_topic, partitions)
    _create(admin, settings, settings.audit_topic, partitions)
    _create(admin, settings, settings.dlq_topic, partitions)
    # Retry records must land on their conversation's partition number: same count as input.
    _create(admin, settings, settings.retry_topic, partitions)
    _create(admin, settings, settings.integrations_topic, 1, {"cleanup.policy": "compact"})
    _create(admin, settings, settings.audit_summary_topic, 1, SUMMARY_CONFIG)
    _create(admin, settings, settings.source_walks_topic, 1, {"cleanup.policy": "compact"})
    # Another worker may have created a topic between our look and our create.
    retention, segment = _retention(admin, settings.input_topic)
    layout = TopicLayout(
        input_partitions=_settled_partitions(admin, settings.input_topic) or partitions,
        replication_factor=replication_factor(admin, settings.topic_replication_factor),
        input_retention_ms=retention,
        input_segment_ms=segment,
    )
    retry = _settled_partitions(admin, settings.retry_topic)
    if retry != layout.input_partitions:
        raise TopicLayoutError(
            f"{settings.retry_topic} has {retry} partitions, {settings.input_topic} has "
            f"{layout.input_partitions}: they must match (recreate {settings.retry_topic})"
        )
    return layout


def ensure_faust_topics(settings: ClientSettings, topics: Iterable[FaustTopic]) -> None:
    """Faust's own topics (streams.seam.faust_topics), made and visible in the broker's
    metadata before Faust's consumer joins: one missing at the join is left out of the
    assignment. Existing ones are left as they are."""
    admin = AdminClient(confluent_config(settings))
    wanted = list(topics)
    for topic in wanted:
        _create(admin, settings, topic.name, topic.partitions, topic.config)
    for topic in wanted:
        if _settled_partitions(admin, topic.name) is None:
            raise TopicLayoutError(f"{topic.name} is still missing from Kafka's metadata")


class TopicLayoutError(RuntimeError):
    """The topics exist in a shape the worker cannot run on."""


def replication_factor(admin: AdminClient, configured: int) -> int:
    """``configured``, or the broker's ``default.replication.factor`` when it is -1.

    Our own topics are created with -1 (the broker applies its default, Kafka 2.4+), but
    Faust's changelog topics need a number: the one the broker would use.
    """
    if configured != -1:
        return configured
    metadata = admin.list_topics(timeout=_TIMEOUT)
    broker = str(metadata.controller_id if metadata.controller_id >= 0 else min(metadata.brokers))
    resource = ConfigResource(ResourceType.BROKER, broker)
    future = admin.describe_configs([resource], request_timeout=_TIMEOUT)[resource]
    try:
        entry = future.result(timeout=_TIMEOUT).get("default.replication.factor")
    except KafkaException as exc:
        raise TopicLayoutError(
            f"cannot read the broker's default.replication.factor ({exc.args[0].str()}): "
            "set TOPIC_REPLICATION_FACTOR"
        ) from exc
    return int(entry.value) if entry is not None and entry.value else 1


def _retention(admin: AdminClient, topic: str) -> tuple[int | None, int | None]:
    """The topic's retention.ms (None: forever, or unreadable) and segment.ms."""
    resource = ConfigResource(ResourceType.TOPIC, topic)
    future = admin.describe_configs([resource], request_timeout=_TIMEOUT)[resource]
    try:
        entries = future.result(timeout=_TIMEOUT)
    except KafkaException:
        return None, None  # nothing can be pruned safely: the worker says so once running
    retention = _config_int(entries.get("retention.ms"))
    policy = getattr(entries.get("cleanup.policy"), "value", None) or "delete"
    if retention is None or retention < 0 or "delete" not in policy:
        return None, None  # kept forever (compaction alone keeps each key's last record)
    return retention, _config_int(entries.get("segment.ms"))


def _config_int(entry: Any) -> int | None:
    value = getattr(entry, "value", None)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _settled_partitions(admin: AdminClient, topic: str) -> int | None:
    # A topic created a moment ago can be missing from metadata for a little while.
    deadline = time.monotonic() + _TIMEOUT
    while (found := _partitions(admin, topic)) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def _partitions(admin: AdminClient, topic: str) -> int | None:
    # Asking for all topics, not this one: a named metadata request can make a broker with
    # auto.create.topics.enable create it with the broker's default partition count.
    metadata = admin.list_topics(timeout=_TIMEOUT)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        return None
    return len(found.partitions)


def _create(
    admin: AdminClient,
    settings: ClientSettings,
    topic: str,
    partitions: int,
    config: dict[str, str] | None = None,
) -> None:
    new = NewTopic(
        topic,
        num_partitions=partitions,
        replication_factor=settings.topic_replication_factor,
        config=config or {},
    )
    future = admin.create_topics([new], operation_timeout=_TIMEOUT)[topic]
    try:
        future.result(timeout=_TIMEOUT)
        log.info("created topic", extra={"topic": topic, "partitions": partitions})
    except KafkaException as exc:
        if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
