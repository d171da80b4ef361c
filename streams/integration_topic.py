"""Reading and writing the integrations topic from outside a worker (the CLI, tests).

Workers tail the topic with :class:`streams.integrations.IntegrationStore`; operators' one-shot
commands only need "what is there now" and "write this record", synchronously.
"""

from __future__ import annotations

import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from schemas.integration import IntegrationRecord


def publish_record(bootstrap_servers: str, topic: str, record: IntegrationRecord) -> None:
    producer = Producer({"bootstrap.servers": bootstrap_servers, "acks": "all"})
    producer.produce(topic, key=record.tenant_id.encode(), value=record.to_json())
    if producer.flush(30) != 0:
        raise RuntimeError("the integration record was not delivered to Kafka")


def read_records(bootstrap_servers: str, topic: str) -> dict[str, IntegrationRecord]:
    """The latest record per tenant, read from the beginning of the topic to its end."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"vitally-sync-cli-{uuid.uuid4()}",
            "enable.auto.commit": False,
        }
    )
    try:
        metadata = consumer.list_topics(timeout=30).topics.get(topic)
        if metadata is None:
            return {}
        records: dict[str, IntegrationRecord] = {}
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), 30)
            if high <= low:
                continue
            consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
            while True:
                message = consumer.poll(10)
                if message is None:
                    raise TimeoutError(f"reading {topic} timed out")
                if message.error() is None and message.key() is not None:
                    tenant = message.key().decode()
                    value = message.value()
                    if value is None:
                        records.pop(tenant, None)
                    else:
                        records[tenant] = IntegrationRecord.from_json(value)
                if message.offset() >= high - 1:
                    break
        return records
    finally:
        consumer.close()
