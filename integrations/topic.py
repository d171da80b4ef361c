"""Reading and writing the integrations topic from outside a worker (the CLI, tests).

Workers tail the topic with :class:`integrations.store.IntegrationStore`; operators' one-shot
commands only need "what is there now" and "write this record", synchronously.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)

from integrations.kafka_config import KafkaSettings, confluent_config, confluent_producer_config
from schemas.integration import IntegrationRecord


def publish_record(kafka: KafkaSettings, topic: str, record: IntegrationRecord) -> None:
    producer = Producer(confluent_producer_config(kafka, acks="all"))
    errors: list[KafkaError] = []

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            errors.append(error)

    # Partition 0 always (as the workers' HTTP API does): one tenant's records must stay in
    # one partition, in order, even on a topic made with several.
    producer.produce(
        topic, key=record.tenant_id.encode(), value=record.to_json(), partition=0,
        on_delivery=on_delivery,
    )  # fmt: skip
    # flush() counts only what is still queued; a record that failed is no longer queued.
    if producer.flush(30) != 0 or errors:
        raise RuntimeError("the integration record was not delivered to Kafka")


def read_records(kafka: KafkaSettings, topic: str) -> dict[str, IntegrationRecord]:
    """The latest record per tenant, read from the beginning of the topic to its end, by the
    workers' rule (:meth:`IntegrationRecord.supersedes`)."""
    return {tenant: entry.record for tenant, entry in latest(read_log(kafka, topic)).items()}


@dataclass(frozen=True)
class Entry:
    """One record of the integrations topic, ``record`` None for a tombstone."""

    tenant_id: str
    record: IntegrationRecord | None


@dataclass(frozen=True)
class Latest:
    """A tenant's current record, and whether it is also its last one on the topic (the
    one compaction keeps)."""

    record: IntegrationRecord
    last: bool


def read_log(kafka: KafkaSettings, topic: str) -> list[Entry]:
    """Every readable record with a key, in the order it was written (one partition)."""
    log: list[Entry] = []
    for key, value in read_topic(kafka, topic):
        if key is None:
            continue
        try:
            record = None if value is None else IntegrationRecord.from_json(value)
        except ValueError:
            continue  # as the workers do: an unreadable record is ignored
        log.append(Entry(key.decode(), record))
    return log


def latest(log: list[Entry]) -> dict[str, Latest]:
    """Each tenant's current record as the workers see it; a tombstone forgets the tenant."""
    current: dict[str, Entry] = {}
    last: dict[str, Entry] = {}
    for entry in log:
        last[entry.tenant_id] = entry
        held = current.get(entry.tenant_id)
        if entry.record is None:
            current.pop(entry.tenant_id, None)
        elif entry.record.supersedes(held.record if held else None):
            current[entry.tenant_id] = entry
    return {
        tenant: Latest(entry.record, last[tenant] is entry)
        for tenant, entry in current.items()
        if entry.record is not None
    }


def read_topic(kafka: KafkaSettings, topic: str) -> Iterator[tuple[bytes | None, bytes | None]]:
    """(key, value) of every record of every partition, up to the end it had when called."""
    consumer = Consumer(
        confluent_config(
            kafka, **{"group.id": f"vitally-sync-cli-{uuid.uuid4()}", "enable.auto.commit": False}
        )
    )
    try:
        metadata = consumer.list_topics(timeout=30).topics.get(topic)
        if metadata is None:
            return
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 30)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
            while True:
                message = consumer.poll(10)
                if message is None:
                    raise TimeoutError(f"reading {topic} timed out")
                if message.error() is None:
                    yield message.key(), message.value()
                if (message.offset() or 0) >= high - 1:
                    break
    finally:
        consumer.close()
