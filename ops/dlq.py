"""``vitally-sync dlq``: the dead letters, and sending them back to be handled again.

Reading is :class:`ops.reader.TopicReader`'s (no consumer group, nothing committed). A
re-drive produces each chosen dead letter to the topic and partition it came from, named by
its headers, with an explicit partition: never through a client's partitioner, for they
differ (librdkafka's default hashes keys with CRC32, the Java client with murmur2). The
source partition is where the conversation's other records are, and its state in the
table (a partition's table entries live with it), so the re-driven record is handled in its
conversation's lane and order. When the Java client's partition for the key
(:func:`ops.trail.key_partition`) is another, the plan says so: the upstream producer does not
partition as the Java client does, or partitions were added. It carries the input's own headers and
``x-redriven-from``, which makes the worker look Vitally up before any write (a re-drive
never writes twice, and a second re-drive of the same record is a ``duplicate``). A dead
letter that was cut to fit the DLQ is re-driven from its original, read at its source
offset, while the source topic still holds it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from integrations.kafka_config import KafkaSettings, confluent_config
from ops.reader import RawRecord, TopicReader, TopicUnreadable
from ops.timerange import TimeRange
from ops.trail import key_partition
from schemas.dead_letter import REDRIVEN_FROM, DeadLetter

PRODUCE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Letter:
    """A dead letter as read, with where it is in the DLQ and when it failed."""

    letter: DeadLetter
    partition: int
    offset: int
    kafka_timestamp: int | None

    @property
    def time(self) -> int | None:
        return self.letter.failed_at if self.letter.failed_at is not None else self.kafka_timestamp

    @property
    def place(self) -> str:
        """Where it is in the DLQ, as ``partition/offset``."""
        return f"{self.partition}/{self.offset}"

    @property
    def tenant_id(self) -> str | None:
        """The header, else (dead letters of the first version) the envelope's tenantId."""
        if self.letter.tenant_id is not None or self.letter.truncated:
            return self.letter.tenant_id
        try:
            envelope = json.loads(self.letter.value or b"")
        except ValueError:
            return None
        tenant = envelope.get("tenantId") if isinstance(envelope, dict) else None
        return tenant if isinstance(tenant, str) else None

    @property
    def conversation_id(self) -> str | None:
        return self.letter.key.decode("utf-8", "replace") if self.letter.key else None


@dataclass(frozen=True)
class Selection:
    """Which dead letters: by reason, tenant, time of failure, or one by its place."""

    reasons: frozenset[str] = frozenset()
    tenant: str | None = None
    window: TimeRange = TimeRange()  # noqa: RUF009 - frozen, so one shared default is safe
    partition: int | None = None
    offset: int | None = None

    def __contains__(self, found: Letter) -> bool:
        time = found.time
        return (
            (not self.reasons or found.letter.reason in self.reasons)
            and (self.tenant is None or found.tenant_id == self.tenant)
            and (time is None or time in self.window)
            and (self.partition is None or found.partition == self.partition)
            and (self.offset is None or found.offset == self.offset)
        )


def read_letters(records: Iterable[RawRecord]) -> Iterator[Letter]:
    for record in records:
        letter = DeadLetter.read(record.key, record.value, record.headers)
        yield Letter(letter, record.partition, record.offset, record.timestamp)


def select(
    reader: TopicReader, selection: Selection, since: int | None, *, last: int | None = None
) -> list[Letter]:
    """The chosen dead letters from ``since`` on (and among the ``last`` of each partition)."""
    partitions = [selection.partition] if selection.partition is not None else None
    records = reader.read(partitions, since, last=last)
    return [found for found in read_letters(records) if found in selection]


def letters_at(reader: TopicReader, places: Iterable[tuple[int, int]]) -> list[Letter]:
    """The dead letters at these (partition, offset) places; a place that holds none (gone
    with retention, or never one) is left out."""
    count = reader.topic_partitions()
    records = (
        reader.record_at(partition, offset) for partition, offset in places if partition < count
    )
    return list(read_letters(record for record in records if record is not None))


@dataclass(frozen=True)
class Redrive:
    """One dead letter's way back: the record to produce and where, or why it cannot go."""

    source: Letter
    topic: str | None
    partition: int | None
    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    problem: str | None = None
    # The Java client's partition for the key, when it is not the source partition.
    java_partition: int | None = None


class Redriver:
    """Plans and produces re-drives; the source topics' partition counts and originals are
    read once each."""

    def __init__(self, kafka: KafkaSettings, dlq: TopicReader, *, timeout_s: float) -> None:
        self._kafka = kafka
        self._dlq = dlq
        self._timeout_s = timeout_s
        self._partitions: dict[str, int | None] = {}

    def plan(self, letters: Iterable[Letter]) -> list[Redrive]:
        return [self._plan(found) for found in letters]

    def _plan(self, found: Letter) -> Redrive:
        origin = found.letter.origin
        if origin is None:
            return Redrive(found, None, None, problem="no source headers: not a dead letter")
        count = self._partition_count(origin.topic)
        if count is None:
            return Redrive(found, origin.topic, None, problem=f"{origin.topic} does not exist")
        key, value = found.letter.key, found.letter.value
        headers = found.letter.input_headers
        if found.letter.truncated:
            original = self._original(origin.topic, origin.partition, origin.offset)
            if original is None:
                problem = f"cut to fit the DLQ, and {origin.describe()} is gone (retention)"
                return Redrive(found, origin.topic, None, problem=problem)
            key, value, headers = original.key, original.value, original.headers
        java = key_partition(key, count) if key is not None else origin.partition
        marker = (REDRIVEN_FROM, f"{self._dlq.topic}/{found.partition}/{found.offset}".encode())
        return Redrive(
            found, origin.topic, origin.partition, key, value,
            headers=(*(h for h in headers if h[0] != REDRIVEN_FROM), marker),
            java_partition=java if java != origin.partition else None,
        )  # fmt: skip

    def _partition_count(self, topic: str) -> int | None:
        if topic not in self._partitions:
            self._partitions[topic] = self._dlq.partition_count(topic)
        return self._partitions[topic]

    def _original(self, topic: str, partition: int, offset: int) -> RawRecord | None:
        with TopicReader(self._kafka, topic, timeout_s=self._timeout_s, progress=False) as source:
            return source.record_at(partition, offset)

    def produce(self, plans: Sequence[Redrive]) -> dict[int, int]:
        """Produce every plan that can go, in order; the offset each got, by index. Raises
        :class:`TopicUnreadable` (after what was sent) when Kafka refuses one."""
        producer = Producer(
            confluent_config(
                self._kafka, **{"acks": "all", "enable.idempotence": True, "log_level": 0}
            )
        )
        sent: dict[int, int] = {}
        failures: list[str] = []

        def delivered(index: int) -> Callable[[KafkaError | None, Message], None]:
            def report(error: KafkaError | None, message: Message) -> None:
                if error is not None:
                    failures.append(f"{message.topic()}/{message.partition()}: {error.str()}")
                else:
                    sent[index] = message.offset() or 0

            return report

        for index, plan in enumerate(plans):
            if plan.problem is not None or plan.topic is None or plan.partition is None:
                continue
            try:
                producer.produce(
                    plan.topic, value=plan.value, key=plan.key, partition=plan.partition,
                    headers=list(plan.headers), on_delivery=delivered(index),
                )  # fmt: skip
            except (KafkaException, BufferError) as exc:
                failures.append(f"{plan.topic}/{plan.partition}: {exc}")
                break
            producer.poll(0)
        left = producer.flush(PRODUCE_TIMEOUT_S)
        if failures or left:
            raise TopicUnreadable(
                f"re-drive stopped: {len(sent)} produced; "
                + ("; ".join(failures[:3]) or f"{left} not confirmed in {PRODUCE_TIMEOUT_S:g}s")
            )
        return sent
