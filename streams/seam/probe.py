"""Asks the broker where the next record of a partition is, to tell real holes from lost ones.

Offsets without a record are normal in Kafka: every transaction leaves a commit or abort
marker, compaction removes records. Faust skipping records it fetched is not normal, and
looks the same to the agent. The broker knows which it is: reading from the offset we
expect either returns a record there (we missed it: read it again) or the first record
after it (nothing in between is a record: move on).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

from integrations.kafka_config import KafkaSettings, confluent_config

log = logging.getLogger(__name__)


class OffsetProbe:
    """Asks the broker where the next record of a partition is."""

    def __init__(self, kafka: KafkaSettings, *, timeout_s: float = 5.0) -> None:
        self._config = {
            **confluent_config(kafka),
            # Needed by the client, never joined: the probe assigns partitions itself.
            "group.id": "vitally-sync-offset-probe",
            "enable.auto.commit": False,
            # What Faust's consumer reads: aborted transactions' records are records too.
            "isolation.level": "read_uncommitted",
            # Below the log start (retention removed records): the first record there is.
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 100,
        }
        self._timeout_s = timeout_s
        self._consumer: Consumer | None = None
        self._lock = threading.Lock()

    async def first_record(self, topic: str, partition: int, start: int, until: int) -> int | None:
        """The offset of the first record at or after ``start``; ``until`` when the partition
        holds nothing but markers from ``start`` to ``until``; None when the broker did not
        say within the timeout."""
        return await asyncio.to_thread(self._first_record, topic, partition, start, until)

    def close(self) -> None:
        with self._lock:
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None

    def _first_record(self, topic: str, partition: int, start: int, until: int) -> int | None:
        with self._lock:
            if self._consumer is None:
                self._consumer = Consumer(self._config)
            consumer = self._consumer
            try:
                consumer.assign([TopicPartition(topic, partition, start)])
                deadline = time.monotonic() + self._timeout_s
                while time.monotonic() < deadline:
                    for message in consumer.consume(1, timeout=0.2):
                        if message.error() is None:
                            offset = message.offset()
                            assert offset is not None  # noqa: S101 - a record has one
                            return offset
                    # The client moves its position past markers without returning them.
                    (position,) = consumer.position([TopicPartition(topic, partition)])
                    if position.offset >= until:
                        return until
                return None
            except KafkaException as exc:
                log.warning("offset probe failed: %s", exc, extra={"topic": topic})
                return None
            finally:
                consumer.unassign()
