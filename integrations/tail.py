"""Reading a topic whole, then following it: how every worker keeps its copy of the
integrations and of the audit counts.

No consumer group: every worker needs every record, so each assigns itself every partition
(also ones added later) and, with nothing committed, starts at the beginning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from integrations.kafka_config import KafkaSettings, aiokafka_config

OnRecord = Callable[[bytes | None, bytes | None], None]


async def tail_topic(
    *,
    kafka: KafkaSettings,
    topic: str,
    on_record: OnRecord,
    on_caught_up: Callable[[], None],
    batch: int = 1000,
) -> None:
    """Feed every record's key and value to ``on_record``, from the start of ``topic``, for
    ever; call ``on_caught_up`` once, when every partition has reached the end it had when
    reading began."""
    consumer = AIOKafkaConsumer(
        topic,
        **aiokafka_config(kafka),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = await _assignment(consumer)
        end = await consumer.end_offsets(partitions)
        caught_up = False
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=batch)
            for records in batches.values():
                for record in records:
                    on_record(record.key, record.value)
            if not caught_up and all([await consumer.position(tp) >= end[tp] for tp in partitions]):
                caught_up = True
                on_caught_up()
    finally:
        await consumer.stop()


async def _assignment(consumer: AIOKafkaConsumer) -> list[TopicPartition]:
    # The worker created the topic before starting; the assignment follows the metadata.
    while not consumer.assignment():
        await asyncio.sleep(0.1)
    return sorted(consumer.assignment())
