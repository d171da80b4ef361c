"""What the worker wrote to a topic: records and bytes (keys and values), read back whole."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from tests.faults.offsets import end_offsets
from tests.fixtures.kafka import unique_name

POLL_S = 1.0


@dataclass(frozen=True)
class Written:
    records: int = 0
    bytes: int = 0
    largest_value: int = 0


def written(bootstrap: str, topic: str) -> Written:
    """Every record of ``topic`` from the start (none when it does not exist)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": unique_name("bytes"),
         "enable.auto.commit": False}
    )  # fmt: skip
    try:
        if topic not in consumer.list_topics(timeout=10).topics:
            return Written()
        ends = {p: end for p, end in end_offsets(bootstrap, topic).items() if end > 0}
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        records = size = largest = 0
        remaining = dict(ends)
        while remaining:
            message = consumer.poll(POLL_S)
            if message is None or message.error() is not None:
                continue
            value = message.value() or b""
            records += 1
            size += len(message.key() or b"") + len(value)
            largest = max(largest, len(value))
            partition, offset = message.partition() or 0, message.offset() or 0
            if offset + 1 >= remaining.get(partition, 0):
                remaining.pop(partition, None)
        return Written(records, size, largest)
    finally:
        consumer.close()
