"""Reading and writing the integrations topic from outside a worker (the CLI, tests).

Workers tail the topic with :class:`integrations.store.IntegrationStore`; operators' one-shot
commands only need "what is there now" and "write this record", synchronously.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

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
    """The latest record per tenant, read from the beginning of the topic to its end."""
    records: dict[str, IntegrationRecord] = {}
    for key, value in read_topic(kafka, topic):
        if key is None:
            continue
        if value is None:
            records.pop(key.decode(), None)
        else:
            records[key.decode()] = IntegrationRecord.from_json(value)
    return records


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
