"""LocalKafka against a real broker: round trips, restarts, crashes, clean stops."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from kafka_local import BrokerExited, LocalKafka

from tests.fixtures.kafka import (
    committed_offsets,
    consume_all,
    create_topic,
    produce,
    unique_name,
)


@pytest.fixture(scope="module")
def kafka() -> Iterator[LocalKafka]:
    with LocalKafka() as broker:
        yield broker


def kafka_pids() -> set[int]:
    """Every running kafka.Kafka JVM on this machine."""
    pids = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"kafka.Kafka\0" in cmdline.read_bytes():
                pids.add(int(cmdline.parent.name))
        except OSError:
            continue  # exited while we looked
    return pids


def test_round_trip_keeps_keys_values_headers_and_order(kafka: LocalKafka) -> None:
    topic = unique_name("round-trip")
    create_topic(kafka.bootstrap_servers, topic, partitions=2)
    sent = [(f"k{i % 2}", f"v{i}".encode(), [("trace", f"t{i}".encode())]) for i in range(6)]

    produce(kafka.bootstrap_servers, topic, sent)
    records = consume_all(kafka.bootstrap_servers, topic, timeout_s=20)

    assert len(records) == 6
    for key in ("k0", "k1"):
        same_key = [r for r in records if r.key == key.encode()]
        assert [r.value for r in same_key] == [v for k, v, _ in sent if k == key]
        assert len({r.partition for r in same_key}) == 1
        assert [r.offset for r in same_key] == sorted(r.offset for r in same_key)
    assert {r.headers[0] for r in records} == {("trace", f"t{i}".encode()) for i in range(6)}


def test_topics_are_auto_created_with_one_partition(kafka: LocalKafka) -> None:
    topic = unique_name("auto")

    produce(kafka.bootstrap_servers, topic, [(None, b"x", [])])

    assert [(r.partition, r.value) for r in consume_all(kafka.bootstrap_servers, topic, 20)] == [
        (0, b"x")
    ]


def test_consume_all_waits_for_expected_records(kafka: LocalKafka) -> None:
    topic = unique_name("late")
    create_topic(kafka.bootstrap_servers, topic)
    late = threading.Timer(1.0, produce, (kafka.bootstrap_servers, topic, [(b"k", b"late", [])]))

    late.start()
    records = consume_all(kafka.bootstrap_servers, topic, timeout_s=20, expected_count=1)
    late.join()

    assert [r.value for r in records] == [b"late"]


def test_committed_offsets_reads_a_groups_commits(kafka: LocalKafka) -> None:
    topic, group = unique_name("commits"), unique_name("group")
    produce(kafka.bootstrap_servers, topic, [(None, b"a", []), (None, b"b", [])])
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    try:
        message = consumer.poll(20)
        assert message is not None and message.error() is None
        consumer.commit(message=message, asynchronous=False)
    finally:
        consumer.close()

    assert committed_offsets(kafka.bootstrap_servers, group, topic) == {0: 1}


def test_restart_keeps_address_and_data(kafka: LocalKafka) -> None:
    topic = unique_name("restart")
    produce(kafka.bootstrap_servers, topic, [(b"k", b"before", [])])
    address, old_pid = kafka.bootstrap_servers, kafka.pid

    kafka.restart()
    produce(kafka.bootstrap_servers, topic, [(b"k", b"after", [])])

    assert kafka.bootstrap_servers == address
    assert kafka.pid != old_pid
    values = [r.value for r in consume_all(kafka.bootstrap_servers, topic, 20)]
    assert values == [b"before", b"after"]


def test_acknowledged_records_survive_a_kill(kafka: LocalKafka) -> None:
    topic = unique_name("crash")
    produce(kafka.bootstrap_servers, topic, [(b"k", b"acked", [])])

    kafka.kill()
    assert not kafka.is_running()
    kafka.start()

    assert [r.value for r in consume_all(kafka.bootstrap_servers, topic, 20)] == [b"acked"]


def test_stop_leaves_no_java_and_a_given_data_dir_is_reused(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path)
    broker.start()
    pid = broker.pid
    assert pid in kafka_pids()
    meta = (tmp_path / "kraft" / "meta.properties").read_text()

    broker.stop()

    assert pid not in kafka_pids()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
    broker.start()  # same dir: not formatted again
    broker.close()
    assert (tmp_path / "kraft" / "meta.properties").read_text() == meta
    assert not broker.is_running()


def test_a_broker_that_cannot_start_reports_why(kafka: LocalKafka) -> None:
    before = kafka_pids()

    with pytest.raises(BrokerExited) as raised, LocalKafka(port=kafka.port):
        pass

    assert "Address already in use" in raised.value.log_tail
    assert kafka_pids() == before
