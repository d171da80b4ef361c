"""Reading a topic once, from a time to the end it had when the read began.

The tools assign partitions themselves: no consumer group is joined and nothing is committed,
so running them leaves no trace on the cluster and cannot take partitions from anyone. Every
Kafka failure leaves here as :class:`TopicUnreadable`, one line for the operator.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from time import monotonic
from types import TracebackType

from confluent_kafka import (
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type hints

from integrations.kafka_config import KafkaSettings, confluent_config

# Kafka timestamps are taken on the producer's (or broker's) clock, processedAt on the
# worker's: start this much before `since` so a skewed clock loses no record; the caller
# filters on the record's own time.
CLOCK_SLACK_MS = 60_000


class TopicUnreadable(Exception):  # noqa: N818 - named for what the operator is told
    """The broker did not answer, or the topic is not there: nothing could be read."""


@dataclass(frozen=True)
class RawRecord:
    """One record as read off the topic, with where it was and Kafka's timestamp (if any)."""

    key: bytes | None
    value: bytes | None
    partition: int
    offset: int
    timestamp: int | None
    headers: tuple[tuple[str, bytes], ...] = ()


class TopicReader:
    """One topic on one broker, read with a throwaway consumer that joins no group."""

    def __init__(
        self, kafka: KafkaSettings, topic: str, *, timeout_s: float = 10.0, progress: bool
    ) -> None:
        self.topic = topic
        self._timeout_s = timeout_s
        self._progress = progress
        bootstrap_servers = kafka.kafka_bootstrap_servers
        with _kafka_errors(f"cannot reach Kafka at {bootstrap_servers}"):
            self._consumer = Consumer(
                confluent_config(
                    kafka,
                    **{
                        # Required by the client; never joined, since partitions are assigned.
                        "group.id": f"vitally-sync-ops-{uuid.uuid4()}",
                        "enable.auto.commit": False,
                        "enable.partition.eof": True,
                        "allow.auto.create.topics": False,
                        # librdkafka would print each failed connection on stderr itself; the
                        # failure reaches the operator once, as TopicUnreadable.
                        "log_level": 0,
                    },
                )
            )
        self._where = bootstrap_servers

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._consumer.close()

    def partition_count(self, topic: str) -> int | None:
        """How many partitions `topic` has; None when it does not exist."""
        with _kafka_errors(f"cannot reach Kafka at {self._where}"):
            metadata = self._consumer.list_topics(topic, timeout=self._timeout_s)
        found = metadata.topics.get(topic)
        if found is None or found.error is not None:
            return None
        return len(found.partitions)

    def topic_partitions(self) -> int:
        """How many partitions the topic read has; TopicUnreadable when there is no such topic."""
        count = self.partition_count(self.topic)
        if count is None:
            raise TopicUnreadable(f"topic {self.topic} does not exist on {self._where}")
        return count

    def read(
        self, partitions: Sequence[int] | None, since_ms: int | None, *, last: int | None = None
    ) -> Iterator[RawRecord]:
        """Records of `partitions` (None: all) from `since_ms` to the end they have now; with
        `last`, at most the last that many offsets of each partition."""
        wanted = range(self.topic_partitions()) if partitions is None else partitions
        with _kafka_errors(f"reading {self.topic} failed"):
            marks = {p: self._watermarks(p) for p in wanted}
            ends = {p: high for p, (_low, high) in marks.items()}
            starts = self._starts(marks, since_ms)
            if last is not None:
                starts = {p: max(start, ends[p] - last) for p, start in starts.items()}
            todo = {p: ends[p] for p, start in starts.items() if start < ends[p]}
            if not todo:
                return
            self._consumer.assign([TopicPartition(self.topic, p, starts[p]) for p in todo])
        total = sum(end - starts[p] for p, end in todo.items())
        with tqdm(
            total=total, unit="rec", file=sys.stderr, disable=not self._progress, leave=False
        ) as bar:
            yield from self._drain(todo, dict(starts), bar)

    def record_at(self, partition: int, offset: int) -> RawRecord | None:
        """The record at ``offset`` of ``partition``; None when retention or compaction
        removed it (or it never was one: a transaction marker)."""
        with _kafka_errors(f"reading {self.topic} failed"):
            low, high = self._watermarks(partition)
            if not low <= offset < high:
                return None
            self._consumer.assign([TopicPartition(self.topic, partition, offset)])
        found = next(iter(self._drain({partition: offset + 1}, {partition: offset}, _NO_BAR)), None)
        self._consumer.unassign()
        return found if found is not None and found.offset == offset else None

    def _watermarks(self, partition: int) -> tuple[int, int]:
        tp = TopicPartition(self.topic, partition)
        low, high = self._consumer.get_watermark_offsets(tp, timeout=self._timeout_s)
        return int(low), int(high)

    def _starts(self, marks: dict[int, tuple[int, int]], since_ms: int | None) -> dict[int, int]:
        if since_ms is None:
            return {p: low for p, (low, _high) in marks.items()}
        asked = [TopicPartition(self.topic, p, since_ms - CLOCK_SLACK_MS) for p in marks]
        found = self._consumer.offsets_for_times(asked, timeout=self._timeout_s)
        # -1: no record at or after that time, so nothing to read there.
        return {
            tp.partition: tp.offset if tp.offset >= 0 else marks[tp.partition][1] for tp in found
        }

    def _drain(
        self, todo: dict[int, int], positions: dict[int, int], bar: tqdm
    ) -> Iterator[RawRecord]:
        deadline = monotonic() + self._timeout_s
        while todo:
            # No more than the offsets left: the client returns as soon as it has that many
            # (an end-of-partition event counts), instead of waiting out the timeout.
            left = sum(end - positions[p] for p, end in todo.items())
            with _kafka_errors(f"reading {self.topic} failed"):
                messages = self._consumer.consume(num_messages=max(1, min(500, left)), timeout=0.5)
            if not messages and monotonic() > deadline:
                raise TopicUnreadable(
                    f"reading {self.topic} stalled: no records for {self._timeout_s:g}s "
                    f"from partitions {sorted(todo)}"
                )
            for message in messages:
                record = self._record(message)
                partition = message.partition()
                if partition is None or partition not in todo:
                    continue
                end = todo[partition]
                done = record is None or record.offset >= end - 1
                reached = end if done else (message.offset() or 0) + 1
                # The bar counts offsets, so markers and compacted gaps move it too.
                bar.update(max(reached - positions[partition], 0))
                positions[partition] = reached
                if record is not None and record.offset < end:
                    yield record
                if done:
                    del todo[partition]
            if messages:
                deadline = monotonic() + self._timeout_s

    def _record(self, message: Message) -> RawRecord | None:
        """The record in `message`; None when it says the partition's end was reached."""
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:  # noqa: SLF001 - its public name
                return None
            raise TopicUnreadable(f"reading {self.topic} failed: {error.str()}")
        kind, stamp = message.timestamp()
        return RawRecord(
            key=message.key(),
            value=message.value(),
            partition=message.partition() or 0,
            offset=message.offset() or 0,
            timestamp=stamp if kind != TIMESTAMP_NOT_AVAILABLE else None,
            headers=_headers(message.headers()),
        )


_NO_BAR = tqdm(disable=True)


def _headers(raw: object) -> tuple[tuple[str, bytes], ...]:
    # Read back, headers are a list of pairs; a header without a value reads as an empty one.
    pairs = raw if isinstance(raw, list) else []
    return tuple(
        (str(name), value if isinstance(value, bytes) else str(value or "").encode())
        for name, value in pairs
    )


@contextmanager
def _kafka_errors(what: str) -> Iterator[None]:
    try:
        yield
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        said = error.str() if isinstance(error, KafkaError) else str(exc)
        raise TopicUnreadable(f"{what}: {said}") from None
