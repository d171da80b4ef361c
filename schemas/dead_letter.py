"""Dead letters: what a DLQ record says in its headers, written by the worker and read back by
``vitally-sync dlq``.

A DLQ record is the failed input record (key, value, and its own headers first, in order)
followed by ours. Where Kafka Connect has a header for the same fact (``__connect.errors.*``)
we use its name and, for the stage, its vocabulary, so tools built for Connect's dead letter
queues read ours; what Connect has no header for is ``x-``. The ``x-error-*`` and
``x-source-*`` headers of the first version are kept (the contract only grows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Headers = Sequence[tuple[str, bytes]]

# Kafka Connect's names (its DeadLetterQueueReporter).
CONNECT_TOPIC = "__connect.errors.topic"
CONNECT_PARTITION = "__connect.errors.partition"
CONNECT_OFFSET = "__connect.errors.offset"
CONNECT_STAGE = "__connect.errors.stage"
CONNECT_ERROR_CLASS = "__connect.errors.exception.class.name"
CONNECT_ERROR_MESSAGE = "__connect.errors.exception.message"
# Ours, first version.
REASON = "x-error-reason"
DETAIL = "x-error-detail"
SOURCE_TOPIC = "x-source-topic"
SOURCE_PARTITION = "x-source-partition"
SOURCE_OFFSET = "x-source-offset"
# Ours, added with `dlq`.
STAGE = "x-error-stage"
ATTEMPTS = "x-error-attempts"
FIRST_FAILED_AT = "x-error-first-attempt-at"
FAILED_AT = "x-error-failed-at"
TENANT = "x-tenant-id"
INPUT_HEADERS = "x-dlq-input-headers"
TRUNCATED = "x-dlq-truncated"
ORIGINAL_KEY_BYTES = "x-dlq-original-key-bytes"
ORIGINAL_VALUE_BYTES = "x-dlq-original-value-bytes"
# On a record ``dlq redrive`` produced: the dead letter it came from (topic/partition/offset).
REDRIVEN_FROM = "x-redriven-from"

DETAIL_MAX_CHARS = 500

# Where it failed: reading the record, calling Vitally or Unthread, holding it while it waits.
Stage = Literal["parse", "sync", "park"]
# The nearest of Kafka Connect's stages, for tools that know only those.
CONNECT_STAGES: dict[Stage, str] = {
    "parse": "VALUE_CONVERTER",
    "sync": "TASK_PUT",
    "park": "TASK_PUT",
}


@dataclass(frozen=True)
class Failure:
    """Why a record is dead-lettered: the reason code, the error, where and after how much."""

    reason: str
    detail: str
    stage: Stage
    # The exception's class, module-qualified (``vitally.errors.VitallyRejected``); empty
    # when no exception was raised.
    error_class: str
    attempts: int
    first_attempt_at: int  # ms since the epoch
    failed_at: int  # ms since the epoch
    tenant_id: str | None = None


@dataclass(frozen=True)
class Origin:
    """Where the failed input record is: its topic, partition and offset."""

    topic: str
    partition: int
    offset: int

    def describe(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


def failure_headers(origin: Origin, failure: Failure) -> list[tuple[str, bytes]]:
    """Our headers for ``failure`` of the record at ``origin`` (the input's own go first)."""
    detail = failure.detail[:DETAIL_MAX_CHARS]
    pairs = [
        (CONNECT_TOPIC, origin.topic),
        (CONNECT_PARTITION, str(origin.partition)),
        (CONNECT_OFFSET, str(origin.offset)),
        (CONNECT_STAGE, CONNECT_STAGES[failure.stage]),
        (CONNECT_ERROR_CLASS, failure.error_class),
        (CONNECT_ERROR_MESSAGE, detail),
        (REASON, failure.reason),
        (DETAIL, detail),
        (SOURCE_TOPIC, origin.topic),
        (SOURCE_PARTITION, str(origin.partition)),
        (SOURCE_OFFSET, str(origin.offset)),
        (STAGE, failure.stage),
        (ATTEMPTS, str(failure.attempts)),
        (FIRST_FAILED_AT, str(failure.first_attempt_at)),
        (FAILED_AT, str(failure.failed_at)),
    ]
    if failure.tenant_id is not None:
        pairs.append((TENANT, failure.tenant_id))
    # No exception class for a failure that is a decision of ours (parked_overflow).
    return [(name, value.encode("utf-8", "replace")) for name, value in pairs if value]


@dataclass(frozen=True)
class DeadLetter:
    """A DLQ record read back: what failed, why, and where the original is."""

    key: bytes | None
    value: bytes | None
    # The input record's own headers, as they came.
    input_headers: tuple[tuple[str, bytes], ...]
    origin: Origin | None  # None: not a record the worker wrote
    reason: str | None
    detail: str | None
    stage: str | None
    error_class: str | None
    attempts: int | None
    first_attempt_at: int | None
    failed_at: int | None
    tenant_id: str | None
    truncated: bool
    original_value_bytes: int | None

    @classmethod
    def read(cls, key: bytes | None, value: bytes | None, headers: Headers) -> DeadLetter:
        """Parse a DLQ record; records of the first version (no ``x-dlq-input-headers``) had
        no input headers, and lack what only later versions say."""
        own = _int(_last(headers, INPUT_HEADERS)) or 0
        ours = headers[own:]

        def text(name: str) -> str | None:
            found = _last(ours, name)
            return found.decode("utf-8", "replace") if found is not None else None

        topic = text(CONNECT_TOPIC) or text(SOURCE_TOPIC)
        partition = _int(_last(ours, CONNECT_PARTITION) or _last(ours, SOURCE_PARTITION))
        offset = _int(_last(ours, CONNECT_OFFSET) or _last(ours, SOURCE_OFFSET))
        origin = (
            Origin(topic, partition, offset)
            if topic is not None and partition is not None and offset is not None
            else None
        )
        return cls(
            key=key,
            value=value,
            input_headers=tuple(headers[:own]),
            origin=origin,
            reason=text(REASON),
            detail=text(DETAIL),
            stage=text(STAGE),
            error_class=text(CONNECT_ERROR_CLASS),
            attempts=_int(_last(ours, ATTEMPTS)),
            first_attempt_at=_int(_last(ours, FIRST_FAILED_AT)),
            failed_at=_int(_last(ours, FAILED_AT)),
            tenant_id=text(TENANT),
            truncated=_last(ours, TRUNCATED) == b"true",
            original_value_bytes=_int(_last(ours, ORIGINAL_VALUE_BYTES)),
        )


def _last(headers: Headers, name: str) -> bytes | None:
    return next((value for key, value in reversed(headers) if key == name), None)


def _int(raw: bytes | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
