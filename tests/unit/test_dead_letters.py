"""The DLQ record: sized as the producer sizes it, the input whole when it fits, else a
truncated copy that says so and where the original is; read back by ``vitally-sync dlq``."""

from __future__ import annotations

from schemas.dead_letter import (
    CONNECT_ERROR_CLASS,
    CONNECT_STAGE,
    CONNECT_TOPIC,
    REASON,
    DeadLetter,
    Failure,
    Origin,
)
from streams.dead_letters import dead_letter_record

LIMIT = 1_000_000
ORIGIN = Origin("unthread.conversation-events", 5, 1234)
FAILURE = Failure(
    reason="vitally_rejected",
    detail="vitally_rejected POST /resources/conversations",
    stage="sync",
    error_class="vitally.errors.VitallyRejected",
    attempts=2,
    first_attempt_at=1_700_000_000_000,
    failed_at=1_700_000_001_000,
    tenant_id="T1",
)


def test_a_record_that_fits_goes_whole_with_its_headers_first() -> None:
    letter = dead_letter_record(
        b"c1", b'{"x":1}', [("traceparent", b"t"), ("x-error-reason", b"theirs")], ORIGIN,
        FAILURE, max_bytes=LIMIT,
    )  # fmt: skip
    assert (letter.key, letter.value) == (b"c1", b'{"x":1}')
    assert letter.headers[:2] == [("traceparent", b"t"), ("x-error-reason", b"theirs")]
    found = dict(letter.headers[2:])
    assert found[CONNECT_TOPIC] == ORIGIN.topic.encode()
    assert found[CONNECT_STAGE] == b"TASK_PUT"
    assert found[CONNECT_ERROR_CLASS] == b"vitally.errors.VitallyRejected"
    read = DeadLetter.read(letter.key, letter.value, letter.headers)
    assert read.input_headers == (("traceparent", b"t"), ("x-error-reason", b"theirs"))
    assert read.reason == "vitally_rejected"  # ours, not the input's header of that name
    assert read.origin == ORIGIN and read.attempts == 2 and read.tenant_id == "T1"
    assert (read.first_attempt_at, read.failed_at) == (1_700_000_000_000, 1_700_000_001_000)
    assert not read.truncated


def test_a_value_near_the_limit_is_cut_and_says_where_the_original_is() -> None:
    value = b"v" * (LIMIT - 100)  # fits as input; not with our headers added
    letter = dead_letter_record(b"c1", value, [], ORIGIN, FAILURE, max_bytes=LIMIT)
    assert LIMIT - 1000 < letter.size <= LIMIT
    assert letter.key == b"c1" and value.startswith(letter.value or b"")
    read = DeadLetter.read(letter.key, letter.value, letter.headers)
    assert read.truncated and read.original_value_bytes == len(value)
    assert read.origin == ORIGIN


def test_a_huge_key_and_headers_are_cut_too() -> None:
    headers = [("big", b"h" * 600_000)]
    letter = dead_letter_record(
        b"k" * 900_000, b"v" * 900_000, headers, ORIGIN, FAILURE, max_bytes=LIMIT
    )
    assert letter.size <= LIMIT
    read = DeadLetter.read(letter.key, letter.value, letter.headers)
    assert read.truncated and read.input_headers == ()
    assert dict(letter.headers)[REASON] == b"vitally_rejected"


def test_a_first_version_dead_letter_is_read() -> None:
    headers = [
        ("x-error-reason", b"invalid_json"),
        ("x-error-detail", b"bad"),
        ("x-source-topic", b"in"),
        ("x-source-partition", b"2"),
        ("x-source-offset", b"7"),
    ]
    read = DeadLetter.read(b"c", b"{", headers)
    assert read.origin == Origin("in", 2, 7) and read.reason == "invalid_json"
    assert read.input_headers == () and read.attempts is None
