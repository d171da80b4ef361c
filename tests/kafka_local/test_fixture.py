"""tests/fixtures/kafka.py: which broker the tests get."""

from __future__ import annotations

import time

import pytest
from confluent_kafka.admin import AdminClient
from kafka_local import LocalKafka

from tests.fixtures import kafka as fixture
from tests.fixtures.kafka import (
    ENV_VAR,
    KafkaBroker,
    consume_all,
    docker_available,
    kafka_bootstrap_servers,
    kafka_broker,
    produce,
    unique_name,
)


def test_env_var_wins_and_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "kafka.example:9092")

    def no_docker_probe() -> bool:
        raise AssertionError("the env var must win before Docker is even asked")

    monkeypatch.setattr(fixture, "docker_available", no_docker_probe)

    with kafka_broker() as broker:
        assert broker == KafkaBroker("kafka.example:9092")
    with kafka_bootstrap_servers() as bootstrap:
        assert bootstrap == "kafka.example:9092"


def test_fault_controls_skip_without_a_local_broker() -> None:
    broker = KafkaBroker("kafka.example:9092")

    with pytest.raises(pytest.skip.Exception):
        broker.restart()
    with pytest.raises(pytest.skip.Exception):
        broker.kill()


def test_unreachable_docker_is_reported_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")

    started = time.monotonic()
    assert docker_available() is False
    assert time.monotonic() - started < fixture.DOCKER_PING_TIMEOUT_S


def test_without_env_or_docker_a_local_broker_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    if docker_available():
        pytest.skip("a Docker engine answers here, so the container would be chosen")

    with kafka_broker() as broker:
        assert isinstance(broker.local, LocalKafka)
        assert broker.bootstrap_servers == broker.local.bootstrap_servers
        metadata = AdminClient({"bootstrap.servers": broker.bootstrap_servers}).list_topics(
            timeout=10
        )
        assert list(metadata.brokers) == [1]

    assert not broker.local.is_running()
    assert not broker.local.data_dir.exists()


def test_docker_broker_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    """The container branch; runs only where a Docker engine answers."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    if not docker_available():
        pytest.skip("no Docker engine")
    topic = unique_name("docker")

    with kafka_broker() as broker:
        assert broker.local is None
        produce(broker.bootstrap_servers, topic, [(b"k", b"v", [])])
        assert [r.value for r in consume_all(broker.bootstrap_servers, topic, 30)] == [b"v"]
