"""The consumer group's committed offsets, read once per assignment for OffsetContinuity."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

log = logging.getLogger(__name__)

Partition = tuple[str, int]


async def committed_offsets(
    bootstrap: str, group: str, partitions: Iterable[Partition], timeout: float = 10.0
) -> dict[Partition, int]:
    """``group``'s committed offset of each of ``partitions`` that has one.

    On an error the answer is empty: continuity then starts from the watermarks alone, which
    still guards everything above them (only records below them, already handled, could then
    be skipped without an audit record).
    """
    wanted = [TopicPartition(topic, partition) for topic, partition in partitions]
    if not wanted:
        return {}

    def read() -> dict[Partition, int]:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        request = ConsumerGroupTopicPartitions(group, wanted)
        future = admin.list_consumer_group_offsets([request], request_timeout=timeout)[group]
        answer = future.result(timeout=timeout)
        return {
            (tp.topic, tp.partition): tp.offset
            for tp in answer.topic_partitions or []
            if tp.error is None and tp.offset >= 0
        }

    try:
        return await asyncio.to_thread(read)
    except (KafkaException, TimeoutError) as exc:
        log.warning("could not read committed offsets: %s", exc, extra={"group": group})
        return {}
