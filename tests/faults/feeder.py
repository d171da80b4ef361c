"""Producing a workload at a steady rate from a background thread, so faults land mid-run.

One idempotent producer keeps each partition's records in produced order through broker
restarts and retries, which the order check relies on: a reordering must be the service's.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, Producer

TICK_S = 0.05
FLUSH_TIMEOUT_S = 120.0
# An upstream producer may send what the broker takes (1 MiB and a little by default), more
# than the 1,000,000 bytes librdkafka allows by default.
UPSTREAM_MAX_MESSAGE_BYTES = 1_048_576

Raw = tuple[bytes | None, bytes | None]


@dataclass
class Feeder:
    """Produces ``records`` to ``topic`` at ``rate`` records a second, in a thread."""

    bootstrap: str
    topic: str
    records: Sequence[Raw]
    rate: float
    # Kafka's compression.type: none, gzip, snappy, lz4 or zstd.
    compression: str = "none"
    produced: int = 0
    errors: list[str] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Feeder:
        self._thread = threading.Thread(target=self._run, name="fault-feeder", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float = FLUSH_TIMEOUT_S) -> None:
        """Block until every record is produced and acknowledged; raise on delivery errors."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"feeder: {self.produced}/{len(self.records)} after {timeout}s")
        if self.errors:
            raise RuntimeError(
                f"feeder: {len(self.errors)} delivery errors, first {self.errors[0]}"
            )

    @property
    def progress(self) -> float:
        return self.produced / max(1, len(self.records))

    def wait_progress(self, fraction: float, timeout: float = FLUSH_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while self.progress < fraction and not self._done.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError(f"feeder stuck at {self.progress:.0%}")
            time.sleep(0.05)

    def _run(self) -> None:
        producer = Producer({
            "bootstrap.servers": self.bootstrap,
            "enable.idempotence": True,
            "linger.ms": 5,
            "compression.type": self.compression,
            "message.max.bytes": UPSTREAM_MAX_MESSAGE_BYTES,
        })  # fmt: skip
        try:
            started = time.monotonic()
            while self.produced < len(self.records):
                due = self._due(time.monotonic() - started)
                for key, value in self.records[self.produced : due]:
                    self._produce(producer, key, value)
                    self.produced += 1
                producer.poll(0)
                time.sleep(TICK_S)
            unsent = producer.flush(FLUSH_TIMEOUT_S)
            if unsent:
                self.errors.append(f"{unsent} records unsent after flush")
        except Exception as exc:  # noqa: BLE001 - reported by wait()
            self.errors.append(repr(exc))
        finally:
            self._done.set()

    def _due(self, elapsed: float) -> int:
        if math.isinf(self.rate):
            return len(self.records)
        return min(len(self.records), int(elapsed * self.rate) + 1)

    def _produce(self, producer: Producer, key: bytes | None, value: bytes | None) -> None:
        while True:
            try:
                producer.produce(self.topic, value, key, on_delivery=self._delivered)
                return
            except BufferError:  # local queue full (a broker restart): let it drain
                producer.poll(0.1)

    def _delivered(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self.errors.append(str(error))


def produce_now(
    bootstrap: str, topic: str, records: Sequence[Raw], compression: str = "none"
) -> None:
    """Produce everything at once (bursts between fault actions)."""
    feeder = Feeder(bootstrap, topic, records, rate=float("inf"), compression=compression)
    feeder.start().wait()


def produce_compressed(
    bootstrap: str, topic: str, records: Sequence[Raw], codecs: Sequence[str], chunk: int
) -> None:
    """``records`` in order, ``chunk`` at a time, each chunk compressed with the next of
    ``codecs``: a chunk is acknowledged before the next starts, so order holds."""
    for n, start in enumerate(range(0, len(records), chunk)):
        produce_now(bootstrap, topic, records[start : start + chunk], codecs[n % len(codecs)])
