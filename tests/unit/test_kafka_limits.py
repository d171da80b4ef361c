"""What the worker writes fits what Kafka accepts, and what it reads it can decompress
(schemas/kafka_limits.py, integrations/kafka_config.py)."""

from __future__ import annotations

import pytest
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from pydantic import ValidationError

from integrations.kafka_config import KafkaSettings, confluent_producer_config, missing_codecs
from schemas.kafka_limits import (
    PRODUCER_MAX_REQUEST_BYTES,
    largest_copyable_event,
    record_bytes,
)
from streams.settings import Settings


def _settings(monkeypatch: pytest.MonkeyPatch, max_event_bytes: int) -> Settings:
    monkeypatch.setenv("ADMIN_API_TOKEN", "t" * 16)
    monkeypatch.setenv("SECRETS_KEY", "k")
    monkeypatch.setenv("MAX_EVENT_BYTES", str(max_event_bytes))
    return Settings()


def test_max_event_bytes_leaves_room_for_a_copy_with_key_and_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _settings(monkeypatch, largest_copyable_event()).max_event_bytes > 990_000
    with pytest.raises(ValidationError) as caught:
        _settings(monkeypatch, largest_copyable_event() + 1)
    assert f"{PRODUCER_MAX_REQUEST_BYTES}-byte request limit" in str(caught.value)


@pytest.mark.parametrize(
    ("key", "value", "headers"),
    [
        (None, None, []),
        (b"c", b"{}", [("a", b"1")]),
        (b"k" * 300, b"v" * 20_000, [("h" * 200, b"x" * 70_000), ("e", b"")]),
        (b"k" * 520_000, b"v" * 480_000, []),
    ],
)
def test_size_is_what_the_producer_counts(
    key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
) -> None:
    expected = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
    assert record_bytes(key, value, headers) == expected


def test_the_largest_event_copied_with_the_longest_key_and_headers_fits() -> None:
    headers = [("x-error-detail", "é".encode() * 500), ("x-source-topic", b"t" * 249)]
    size = record_bytes(b"k" * 1024, b"v" * largest_copyable_event(), headers)
    assert size <= PRODUCER_MAX_REQUEST_BYTES


def test_sizes_are_bytes_not_characters() -> None:
    assert record_bytes("é".encode(), "€".encode()) - record_bytes(b"", b"") == 5


def test_the_cli_producer_states_the_request_limit() -> None:
    config = confluent_producer_config(KafkaSettings(), acks="all")
    assert config["message.max.bytes"] == PRODUCER_MAX_REQUEST_BYTES
    assert config["acks"] == "all"


def test_aiokafka_reads_every_codec_kafka_has() -> None:
    # cramjam is a runtime dependency: snappy, lz4 and zstd batches are readable.
    assert missing_codecs() == []
