"""kafka_local's optional SASL_PLAINTEXT listener, as written to server.properties."""

from __future__ import annotations

from pathlib import Path

from kafka_local.config import bootstrap_of, broker_properties


def test_a_sasl_listener_is_added_beside_plaintext() -> None:
    properties = broker_properties(
        port=9092, controller_port=9093, log_dir=Path("kraft"), extra={},
        sasl_port=9094, sasl_users={"sync": "pw", "other": "x"},
    )  # fmt: skip
    assert properties["listeners"].split(",") == [
        "PLAINTEXT://127.0.0.1:9092", "CONTROLLER://127.0.0.1:9093",
        "SASL_PLAINTEXT://127.0.0.1:9094",
    ]  # fmt: skip
    assert "SASL_PLAINTEXT://127.0.0.1:9094" in properties["advertised.listeners"]
    assert "SASL_PLAINTEXT:SASL_PLAINTEXT" in properties["listener.security.protocol.map"]
    assert properties["sasl.enabled.mechanisms"] == "PLAIN"
    assert properties["listener.name.sasl_plaintext.plain.sasl.jaas.config"] == (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'user_sync="pw" user_other="x";'
    )
    assert properties["inter.broker.listener.name"] == "PLAINTEXT"
    assert bootstrap_of(properties) == "127.0.0.1:9092"  # readiness stays on PLAINTEXT


def test_no_sasl_unless_asked() -> None:
    properties = broker_properties(port=1, controller_port=2, log_dir=Path("kraft"), extra={})
    assert "SASL" not in properties["listeners"] and "sasl.enabled.mechanisms" not in properties
