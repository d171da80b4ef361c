"""Creating the topics the worker uses, before Faust starts.

Faust only creates its own internal topics, and it needs to know the input topic's partition
count up front: tables must be co-partitioned with their source. So the worker asks Kafka
first: an existing input topic is used with whatever partitions it has; a missing one is
created with TOPIC_PARTITIONS. The audit and DLQ topics follow the input's partition count
(records keep their conversation's partition); the integrations topic is compacted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from streams.settings import Settings

log = logging.getLogger(__name__)

_TIMEOUT = 30.0


@dataclass(frozen=True)
class TopicLayout:
    """What the worker found or made of its topics."""

    input_partitions: int


def ensure_topics(settings: Settings) -> TopicLayout:
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    partitions = _partitions(admin, settings.input_topic)
    if partitions is None:
        partitions = settings.topic_partitions
        _create(admin, settings, settings.input_topic, partitions)
    _create(admin, settings, settings.audit_topic, partitions)
    _create(admin, settings, settings.dlq_topic, partitions)
    # Retry records must land on their conversation's partition number: same count as input.
    _create(admin, settings, settings.retry_topic, partitions)
    _create(admin, settings, settings.integrations_topic, 1, {"cleanup.policy": "compact"})
    # Another worker may have created a topic between our look and our create.
    layout = TopicLayout(
        input_partitions=_settled_partitions(admin, settings.input_topic) or partitions,
    )
    retry = _settled_partitions(admin, settings.retry_topic)
    if retry != layout.input_partitions:
        raise TopicLayoutError(
            f"{settings.retry_topic} has {retry} partitions, {settings.input_topic} has "
            f"{layout.input_partitions}: they must match (recreate {settings.retry_topic})"
        )
    return layout


class TopicLayoutError(RuntimeError):
    """The topics exist in a shape the worker cannot run on."""


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
    settings: Settings,
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
