"""How large a record the service may write, in bytes of what is produced.

Kafka refuses a produce request above the producer's ``max.request.size`` (client side) and a
batch above the topic's ``max.message.bytes`` (broker side, 1 MiB plus a little by default).
Every producer the service makes is given :data:`PRODUCER_MAX_REQUEST_BYTES` explicitly (the
Faust app, the CLI's confluent-kafka producer), and everything the worker writes is measured
against it with :func:`record_bytes`, never by counting characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

# Kafka's own producer default, under the broker's default 1 MiB (1,048,588) message limit.
PRODUCER_MAX_REQUEST_BYTES: Final = 1_000_000
# A record key is a conversation id (schemas.events.MAX_ID_CHARS characters of UTF-8 at most).
MAX_KEY_BYTES: Final = 1024
# A record batch's fixed header (Kafka's v2 format), and the most a lone record adds to its
# fields (length, attributes, timestamp and offset deltas, as varints): what the producer
# counts for one record in a batch of its own.
BATCH_HEADER_BYTES: Final = 61
RECORD_OVERHEAD_BYTES: Final = 21
# What a record may add beyond its key, value and headers (the above and their length
# prefixes), with room to spare: the allowance behind `largest_copyable_event`.
RECORD_FRAMING_ALLOWANCE_BYTES: Final = 512
# What the worker may add to a copy of an input record (the DLQ's x-error-* and x-source-*
# headers: names, source topic, and a detail of up to 500 characters of UTF-8).
DLQ_HEADERS_ALLOWANCE_BYTES: Final = 4096


def record_bytes(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()
) -> int:
    """The size the producer checks against its ``max.request.size`` for this record."""
    size = BATCH_HEADER_BYTES + RECORD_OVERHEAD_BYTES
    size += _field(key) + _field(value) + _varint(len(headers))
    for name, data in headers:
        size += _field(name.encode("utf-8")) + _field(data)
    return size


def largest_copyable_event(max_request_bytes: int = PRODUCER_MAX_REQUEST_BYTES) -> int:
    """The largest input value whose unchanged DLQ copy (with the longest key we accept and
    the DLQ headers) still fits one produce request."""
    return (
        max_request_bytes - MAX_KEY_BYTES - DLQ_HEADERS_ALLOWANCE_BYTES
        - RECORD_FRAMING_ALLOWANCE_BYTES
    )  # fmt: skip


def _field(data: bytes | None) -> int:
    return 1 if data is None else _varint(len(data)) + len(data)


def _varint(value: int) -> int:
    zigzag = (value << 1) ^ (value >> 63)
    size = 1
    while zigzag > 0x7F:
        zigzag >>= 7
        size += 1
    return size
