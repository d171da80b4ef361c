"""How large a record the service may write, in bytes of what is produced.

Kafka refuses a produce request above the producer's ``max.request.size`` (client side) and a
batch above the topic's ``max.message.bytes`` (broker side, 1 MiB plus a little by default).
Every producer the service makes is given :data:`PRODUCER_MAX_REQUEST_BYTES` explicitly (the
Faust app, the CLI's confluent-kafka producer), and everything the worker writes is measured
against it with :func:`record_bytes`, never by counting characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# Kafka's own producer default, under the broker's default 1 MiB (1,048,588) message limit.
PRODUCER_MAX_REQUEST_BYTES: Final = 1_000_000
# A record key is a conversation id (schemas.events.MAX_ID_CHARS characters of UTF-8 at most).
MAX_KEY_BYTES: Final = 1024
# What a record adds in its batch beyond key, value and headers: the batch header (61 bytes),
# the record's own varints and attributes, and the request's framing; a generous allowance.
RECORD_OVERHEAD_BYTES: Final = 512
# What the worker may add to a copy of an input record (the DLQ's x-error-* and x-source-*
# headers: names, source topic, and a detail of up to 500 characters of UTF-8).
DLQ_HEADERS_ALLOWANCE_BYTES: Final = 4096


def record_bytes(
    key: bytes | None, value: bytes | None, headers: Mapping[str, bytes] | None = None
) -> int:
    """An upper bound of what one record takes in a produce request."""
    header_bytes = sum(len(name.encode()) + len(v) for name, v in (headers or {}).items())
    return len(key or b"") + len(value or b"") + header_bytes + RECORD_OVERHEAD_BYTES


def largest_copyable_event(max_request_bytes: int = PRODUCER_MAX_REQUEST_BYTES) -> int:
    """The largest input value whose unchanged DLQ copy (with the longest key we accept and
    the DLQ headers) still fits one produce request."""
    return max_request_bytes - MAX_KEY_BYTES - DLQ_HEADERS_ALLOWANCE_BYTES - RECORD_OVERHEAD_BYTES
