"""Replaying input: moving the worker group's committed offsets back (or forward) on the input
and retry topics, for ``vitally-sync replay``.

A plan is read first and changes nothing: per partition, the group's committed offset (where
the worker continues; with none, the start of the log, as ``auto_offset_reset=earliest``
does), the target and how many records that reads again (negative: records passed over).
:func:`apply_plan` commits the targets for the group. Kafka only takes that while the group
has no members, so the worker is stopped first; :func:`live_members` says who is still there.

Replayed records are safe to read again: the conversations table knows what was applied,
so they are audited ``duplicate`` without a Vitally call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from integrations.kafka_config import KafkaSettings, confluent_config

TIMEOUT_S = 30.0


class ReplayError(Exception):
    """The replay cannot be planned or applied as asked (one line for the operator)."""


@dataclass(frozen=True)
class Target:
    """Where to move to: ``earliest``, an ``offset`` or the first record at a ``datetime``."""

    kind: Literal["earliest", "offset", "datetime"]
    offset: int | None = None
    at: datetime | None = None

    def describe(self) -> str:
        if self.kind == "offset":
            return f"offset {self.offset}"
        if self.kind == "datetime" and self.at is not None:
            return f"the first record at or after {self.at.isoformat()}"
        return "the beginning"


@dataclass(frozen=True)
class PartitionPlan:
    topic: str
    partition: int
    committed: int | None  # None: the group has committed nothing here
    low: int  # the log start (retention may have removed older records)
    high: int  # the offset the next record will get
    target: int

    @property
    def current(self) -> int:
        """Where the worker continues today."""
        return self.committed if self.committed is not None else self.low

    @property
    def reread(self) -> int:
        """Records read again from the target (negative: records passed over)."""
        return min(self.current, self.high) - self.target


def admin_client(kafka: KafkaSettings) -> AdminClient:
    return AdminClient(confluent_config(kafka))


def live_members(admin: AdminClient, group: str) -> list[str]:
    """The group's members now (client id and host of each): empty when no worker runs."""
    future = admin.describe_consumer_groups([group], request_timeout=TIMEOUT_S)[group]
    description = future.result(timeout=TIMEOUT_S)
    return [f"{m.client_id}@{m.host}" for m in description.members or []]


def plan(
    admin: AdminClient,
    group: str,
    topics: Sequence[str],
    target: Target,
    partitions: Iterable[int] | None = None,
) -> list[PartitionPlan]:
    """The move, partition by partition, for ``group`` on ``topics`` (all their partitions,
    or those numbered in ``partitions``)."""
    wanted = set(partitions) if partitions is not None else None
    tps: list[TopicPartition] = []
    metadata = admin.list_topics(timeout=TIMEOUT_S)
    for topic in topics:
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            raise ReplayError(f"topic {topic} does not exist")
        numbers = sorted(found.partitions)
        if wanted is not None:
            missing = wanted - set(numbers)
            if missing:
                raise ReplayError(
                    f"{topic} has no partition {', '.join(map(str, sorted(missing)))} "
                    f"(it has 0-{len(numbers) - 1})"
                )
            numbers = sorted(wanted)
        tps += [TopicPartition(topic, n) for n in numbers]
    committed = _committed(admin, group, tps)
    low = _offsets(admin, tps, OffsetSpec.earliest())  # type: ignore[no-untyped-call]
    high = _offsets(admin, tps, OffsetSpec.latest())  # type: ignore[no-untyped-call]
    targets = _targets(admin, tps, target, low, high)
    return [
        PartitionPlan(
            tp.topic,
            tp.partition,
            committed.get(_key(tp)),
            low[_key(tp)],
            high[_key(tp)],
            targets[_key(tp)],
        )  # fmt: skip
        for tp in tps
    ]


def apply_plan(admin: AdminClient, group: str, plans: Sequence[PartitionPlan]) -> None:
    """Commit every plan's target for ``group``; raise :class:`ReplayError` if Kafka refuses."""
    request = ConsumerGroupTopicPartitions(
        group, [TopicPartition(p.topic, p.partition, p.target) for p in plans]
    )
    future = admin.alter_consumer_group_offsets([request], request_timeout=TIMEOUT_S)[group]
    try:
        answer = future.result(timeout=TIMEOUT_S)
    except KafkaException as exc:
        raise ReplayError(
            f"Kafka refused the new offsets for group {group}: {exc.args[0].str()} "
            "(is a worker still running?)"
        ) from exc
    failed = [tp for tp in answer.topic_partitions or [] if tp.error is not None]
    if failed:
        first = failed[0]
        raise ReplayError(
            f"Kafka refused the new offset of {first.topic}[{first.partition}]: {first.error}"
        )


def _key(tp: TopicPartition) -> tuple[str, int]:
    return (tp.topic, tp.partition)


def _committed(
    admin: AdminClient, group: str, tps: list[TopicPartition]
) -> dict[tuple[str, int], int]:
    request = ConsumerGroupTopicPartitions(group, tps)
    future = admin.list_consumer_group_offsets([request], request_timeout=TIMEOUT_S)[group]
    answer = future.result(timeout=TIMEOUT_S)
    return {
        _key(tp): tp.offset
        for tp in answer.topic_partitions or []
        if tp.error is None and tp.offset >= 0
    }


def _offsets(
    admin: AdminClient, tps: list[TopicPartition], spec: Any
) -> dict[tuple[str, int], int]:
    futures = admin.list_offsets({tp: spec for tp in tps}, request_timeout=TIMEOUT_S)
    return {_key(tp): future.result(timeout=TIMEOUT_S).offset for tp, future in futures.items()}


def _targets(
    admin: AdminClient,
    tps: list[TopicPartition],
    target: Target,
    low: dict[tuple[str, int], int],
    high: dict[tuple[str, int], int],
) -> dict[tuple[str, int], int]:
    if target.kind == "earliest":
        return dict(low)
    if target.kind == "offset":
        assert target.offset is not None  # noqa: S101 - an offset target has one
        wanted = target.offset
        # Below the log start there is nothing to read; past the end there is nothing yet.
        return {key: min(max(wanted, low[key]), high[key]) for key in low}
    assert target.at is not None  # noqa: S101 - a datetime target has one
    spec = OffsetSpec.for_timestamp(int(target.at.timestamp() * 1000))
    found = _offsets(admin, tps, spec)
    # -1: no record at or after that time: the end of the partition.
    return {key: offset if offset >= 0 else high[key] for key, offset in found.items()}
