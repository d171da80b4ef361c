"""The benchmark's Kafka plumbing: topics, producing the workload, reading the audit topic.

Everything here uses confluent-kafka (librdkafka) from the harness process, so the harness's
own Kafka work costs little CPU next to the system it measures.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupState,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

# The documented confluent_kafka.admin.NewTopic is an implicit re-export that mypy --strict
# rejects; this is where it is defined.
from confluent_kafka.cimpl import NewTopic

from bench.workload import Workload, render

CLIENT_TIMEOUT_S = 30.0
# librdkafka's info and warning lines (a retried PID request at start, a purged background
# queue at close) would interleave with the progress bar; errors still show.
QUIET: dict[str, str | int] = {"log_level": 3}


def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
    futures = admin.create_topics([NewTopic(n, num_partitions=partitions) for n in names])
    for future in futures.values():
        future.result(timeout=CLIENT_TIMEOUT_S)


def wait_group_assigned(
    bootstrap: str,
    group: str,
    topic: str,
    partitions: int,
    timeout_s: float = 60.0,
    members: int = 1,
) -> None:
    """Wait until ``group`` is stable with at least ``members`` members and every partition of
    ``topic`` assigned.

    Producing before that would charge the system's start-up (join, rebalance) to its
    throughput; the same check works for Faust apps and plain consumers alike.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap, **QUIET})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            description = admin.describe_consumer_groups([group])[group].result(timeout=10)
        except KafkaException:
            description = None
        if (
            description is not None
            and description.state == ConsumerGroupState.STABLE
            and len(description.members) >= members
        ):
            assigned = {
                tp.partition
                for member in description.members
                for tp in member.assignment.topic_partitions
                if tp.topic == topic
            }
            if len(assigned) == partitions:
                return
        time.sleep(0.25)
    raise TimeoutError(f"consumer group {group} did not take all of {topic} in {timeout_s}s")


def group_lag(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    """Records of ``topic`` past ``group``'s committed offset, per partition that has any."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, **QUIET})
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        committed = consumer.committed(tps, timeout=10)
        lag: dict[int, int] = {}
        for tp in committed:
            _low, high = consumer.get_watermark_offsets(tp, timeout=10)
            behind = high - max(tp.offset, 0)
            if behind > 0:
                lag[tp.partition] = behind
        return lag
    finally:
        consumer.close()


@dataclass
class Produced:
    """What the harness produced: when each message's event happened (= was produced)."""

    at: dict[str, float] = field(default_factory=dict)  # message id -> unix seconds
    first: float = 0.0
    last: float = 0.0


def produce_workload(
    bootstrap: str,
    topic: str,
    workload: Workload,
    *,
    rate: float | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Produced:
    """Produce every planned event, stamped with its produce time, and wait for the acks.

    Without ``rate`` the whole workload goes out as fast as the producer takes it (a
    backlog, which is what a throughput figure needs); with ``rate`` (events per second)
    events are paced, so latency is measured under a steady load instead of a backlog.
    """
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "linger.ms": 5,
            "queue.buffering.max.messages": 1_000_000,
            **QUIET,
        }
    )
    errors: list[KafkaError] = []

    def delivered(error: KafkaError | None, _message: Any) -> None:
        if error is not None:
            errors.append(error)

    produced = Produced(first=time.time())
    for n, event in enumerate(workload.events):
        if rate:
            _pace(produced.first + n / rate)
        now = time.time()
        record = render(event, datetime.fromtimestamp(now, UTC), sparse=workload.config.sparse)
        producer.produce(topic, record.value, record.key, on_delivery=delivered)
        produced.at[event.message_id] = now
        producer.poll(0)
        if on_progress is not None and n % 500 == 0:
            on_progress(n)
    unsent = producer.flush(CLIENT_TIMEOUT_S)
    produced.last = time.time()
    if errors or unsent:
        raise KafkaException(errors[0] if errors else f"{unsent} records unsent after flush")
    return produced


def _pace(due: float) -> None:
    wait = due - time.time()
    if wait > 0:
        time.sleep(wait)


class AuditReader:
    """Reads an audit topic from the beginning, in a throwaway group that commits nothing."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                # Required by the client; nothing joins it (assign below).
                "group.id": f"bench-audit-{time.time_ns()}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 50,
                **QUIET,
            }
        )
        self._topic = topic
        self._assigned = False

    def poll(self, timeout: float = 0.2) -> Iterator[dict[str, Any]]:
        """The audit records that arrived within ``timeout``, decoded."""
        if not self._assigned and not self._assign():
            time.sleep(timeout)
            return
        for message in self._consumer.consume(num_messages=1000, timeout=timeout):
            error = message.error()
            if error is not None:  # partition EOF is not reported: enable.partition.eof is off
                raise KafkaException(error)
            value = message.value()
            if value:
                yield json.loads(value)

    def close(self) -> None:
        self._consumer.close()

    def _assign(self) -> bool:
        # The system under test may create its audit topic itself: wait until it exists.
        found = self._consumer.list_topics(self._topic, timeout=10).topics.get(self._topic)
        if found is None or found.error is not None or not found.partitions:
            return False
        self._consumer.assign(
            [TopicPartition(self._topic, p, OFFSET_BEGINNING) for p in sorted(found.partitions)]
        )
        self._assigned = True
        return True
