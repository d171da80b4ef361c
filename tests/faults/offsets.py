"""Consumer-group offsets: has the worker committed everything, and rewinding it for a replay."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.fixtures.kafka import committed_offsets, unique_name

TIMEOUT_S = 30.0


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The high watermark of every partition of ``topic``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": unique_name("ends")})
    try:
        metadata = consumer.list_topics(topic, timeout=TIMEOUT_S).topics[topic]
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT_S)[1]
            for p in metadata.partitions
        }
    finally:
        consumer.close()


def written(bootstrap: str, topic: str) -> int:
    """How many records ``topic`` holds (every partition's end offset, summed)."""
    return sum(end_offsets(bootstrap, topic).values())


def lag(bootstrap: str, group: str, topic: str) -> int:
    """Records of ``topic`` the group has not committed past (every record counts once)."""
    try:
        committed = committed_offsets(bootstrap, group, topic)
        ends = end_offsets(bootstrap, topic)
    except KafkaException:
        return -1  # the broker is away: not settled
    return sum(end - committed.get(p, 0) for p, end in ends.items())


def caught_up(bootstrap: str, group: str, *topics: str) -> bool:
    return all(lag(bootstrap, group, topic) == 0 for topic in topics)


def rewind(bootstrap: str, group: str, topic: str, timeout: float = TIMEOUT_S) -> None:
    """Set the (idle) group's committed offsets of every partition of ``topic`` to 0."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    partitions = [TopicPartition(topic, p, 0) for p in end_offsets(bootstrap, topic)]
    deadline = time.monotonic() + timeout
    while True:
        future = admin.alter_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group, partitions)]
        )[group]
        try:
            result = future.result(timeout=TIMEOUT_S)
            # The broker may refuse partition by partition (a group that is not empty yet).
            refused = [tp.error for tp in result.topic_partitions or [] if tp.error]
            if not refused:
                return
            if time.monotonic() > deadline:
                raise KafkaException(refused[0])
        except KafkaException:
            # Members that just left can still be in the group for a moment, and static
            # members that stopped without leaving until their session expires: try again.
            if time.monotonic() > deadline:
                raise
        time.sleep(1.0)
