"""The DLQ record for a failed input record, made to fit what the producer accepts.

A DLQ copy is the only durable copy of a failed record the worker keeps, and a copy the
producer refuses stops the worker (it cannot ack a record whose outcome it could not write).
So the copy is measured as the producer measures it, in bytes of the record batch it would
send, and when the whole input record (plus our headers) does not fit, what goes is a
truncated copy that says so and where the original is: the value is cut first, then the
input's own headers are left out, then the key is cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.dead_letter import (
    INPUT_HEADERS,
    ORIGINAL_KEY_BYTES,
    ORIGINAL_VALUE_BYTES,
    TRUNCATED,
    Failure,
    Headers,
    Origin,
    failure_headers,
)
from schemas.kafka_limits import record_bytes


@dataclass(frozen=True)
class DeadLetterRecord:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    @property
    def size(self) -> int:
        return record_bytes(self.key, self.value, self.headers)


def dead_letter_record(
    key: bytes | None,
    value: bytes | None,
    input_headers: Headers,
    origin: Origin,
    failure: Failure,
    *,
    max_bytes: int,
) -> DeadLetterRecord:
    """The DLQ record: the input record whole when it fits in ``max_bytes``, else cut."""
    ours = failure_headers(origin, failure)
    whole = DeadLetterRecord(key, value, _headers(input_headers, ours, []))
    if whole.size <= max_bytes:
        return whole
    said = [
        (TRUNCATED, b"true"),
        (ORIGINAL_KEY_BYTES, str(len(key or b"")).encode()),
        (ORIGINAL_VALUE_BYTES, str(len(value or b"")).encode()),
    ]
    headers = _headers(input_headers, ours, said)
    if record_bytes(key, b"", headers) > max_bytes:
        headers = _headers((), ours, said)
    if key is not None and record_bytes(key, b"", headers) > max_bytes:
        key = key[: _room(max_bytes - record_bytes(b"", b"", headers))]
    room = _room(max_bytes - record_bytes(key, b"", headers))
    return DeadLetterRecord(key, (value or b"")[:room], headers)


def _headers(
    input_headers: Headers,
    ours: list[tuple[str, bytes]],
    said: list[tuple[str, bytes]],
) -> list[tuple[str, bytes]]:
    # The input's headers first: a reader takes as many as x-dlq-input-headers says.
    count = [(INPUT_HEADERS, str(len(input_headers)).encode())]
    return [*input_headers, *ours, *count, *said]


def _room(free: int) -> int:
    # A field's length prefix grows with it (a varint, at most 5 bytes for these sizes).
    return max(0, free - 5)
