"""streams.replay on a real broker, without a worker: targets by time, by offset and from the
beginning, some partitions only, and the commit that applies them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from confluent_kafka import Producer

from integrations.kafka_config import KafkaSettings
from streams.replay import ReplayError, Target, admin_client, apply_plan, live_members, plan
from tests.fixtures.kafka import KafkaBroker, committed_offsets, create_topic, unique_name

pytestmark = [pytest.mark.kafka]

BASE_MS = 1_764_064_800_000  # 2025-11-25T10:00:00Z


def test_plan_and_apply(kafka_bootstrap: KafkaBroker) -> None:
    bootstrap = kafka_bootstrap.bootstrap_servers
    topic, group = unique_name("replay-in"), unique_name("replay-group")
    create_topic(bootstrap, topic, partitions=2)
    producer = Producer({"bootstrap.servers": bootstrap})
    for partition in (0, 1):
        for i in range(10):  # one record a minute
            producer.produce(topic, b"v", b"k", partition=partition, timestamp=BASE_MS + i * 60_000)
    assert producer.flush(30) == 0
    admin = admin_client(KafkaSettings(kafka_bootstrap_servers=bootstrap))
    assert live_members(admin, group) == []

    fresh = plan(admin, group, [topic], Target("earliest"))
    assert [(p.partition, p.committed, p.target, p.reread) for p in fresh] == [
        (0, None, 0, 0), (1, None, 0, 0),
    ]  # fmt: skip
    apply_plan(admin, group, plan(admin, group, [topic], Target("offset", offset=8)))
    assert committed_offsets(bootstrap, group, topic) == {0: 8, 1: 8}

    at = datetime.fromtimestamp((BASE_MS + 5 * 60_000) / 1000, UTC)
    by_time = plan(admin, group, [topic], Target("datetime", at=at), partitions=[1])
    assert [(p.partition, p.committed, p.target, p.reread) for p in by_time] == [(1, 8, 5, 3)]
    apply_plan(admin, group, by_time)
    assert committed_offsets(bootstrap, group, topic) == {0: 8, 1: 5}

    later = datetime.fromtimestamp((BASE_MS + 3_600_000) / 1000, UTC)
    [end] = plan(admin, group, [topic], Target("datetime", at=later), partitions=[0])
    assert (end.target, end.reread) == (10, -2)  # nothing that late: the end, 2 passed over
    [clamped] = plan(admin, group, [topic], Target("offset", offset=99), partitions=[0])
    assert clamped.target == 10

    with pytest.raises(ReplayError, match="has no partition 7"):
        plan(admin, group, [topic], Target("earliest"), partitions=[0, 7])
    with pytest.raises(ReplayError, match="does not exist"):
        plan(admin, group, [unique_name("missing")], Target("earliest"))
