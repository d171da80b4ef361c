"""``vitally-sync why``: one conversation's audit records, in order, each with its fix.

The audit topic is keyed by conversation id, so a conversation's records share a partition
and are in offset order there. Which partition is what the worker's producer chose: Faust
sends through aiokafka, whose default partitioner is the Java client's: murmur2 of the key
bytes, made positive, modulo the topic's partition count (:func:`key_partition`, in
:mod:`schemas.partitioning`; tests check
it against aiokafka's producer and the worker's own records). That holds while the count has
not changed since the records were written; the worker creates the audit topic with the
input topic's count, so a difference between the two means partitions were added, and every
partition is read instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ops.entries import ReadEntry, read_entries
from ops.reader import TopicReader
from ops.timerange import TimeRange
from schemas.audit_reasons import fix_for
from schemas.partitioning import key_partition as key_partition
from schemas.partitioning import murmur2 as murmur2


def partitions_to_read(
    conversation_id: str, audit_partitions: int, input_partitions: int | None
) -> list[int] | None:
    """The one partition holding the conversation's records; None (all) if keys may have moved."""
    if input_partitions != audit_partitions:
        return None
    return [key_partition(conversation_id.encode(), audit_partitions)]


@dataclass(frozen=True)
class TrailStep:
    """One audit record of the trail, as ``why`` shows it (never message text)."""

    time: int | None
    event: str | None
    message_id: str | None
    outcome: str
    reason: str | None
    detail: str | None
    fix: str | None
    partition: int
    offset: int


def read_trail(
    reader: TopicReader, *, tenant: str, conversation: str, input_topic: str, since: int | None
) -> tuple[list[TrailStep], list[int] | None]:
    """The conversation's trail off the audit topic ``reader`` reads, and the partitions read
    (None: all)."""
    partitions = partitions_to_read(
        conversation, reader.topic_partitions(), reader.partition_count(input_topic)
    )
    steps = conversation_trail(
        read_entries(reader.read(partitions, since), key=conversation.encode()),
        tenant=tenant,
        conversation=conversation,
        window=TimeRange(since=since),
    )
    return steps, partitions


def conversation_trail(
    entries: Iterable[ReadEntry],
    *,
    tenant: str,
    conversation: str,
    window: TimeRange = TimeRange(),  # noqa: B008 - frozen, so one shared default is safe
) -> list[TrailStep]:
    found = [
        e
        for e in entries
        if e.entry.tenant_id == tenant
        and e.entry.conversation_id == conversation
        and (e.time is None or e.time in window)
    ]
    if len({e.partition for e in found}) > 1:
        # Read from several partitions: only the records' own times order them.
        found.sort(key=lambda e: (e.time or 0, e.partition, e.offset))
    return [_step(e) for e in found]


def _step(read: ReadEntry) -> TrailStep:
    entry = read.entry
    return TrailStep(
        time=read.time,
        event=entry.event,
        message_id=entry.message_id,
        outcome=entry.outcome,
        reason=entry.reason,
        detail=entry.detail,
        fix=fix_for(entry.reason),
        partition=read.partition,
        offset=read.offset,
    )
