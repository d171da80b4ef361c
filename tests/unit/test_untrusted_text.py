"""Strings from an event are made safe once, at parse time, and every audit record serialises
and fits a produce request whatever the input (schemas/text.py, schemas/events.py,
schemas/audit.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.audit import AUDIT_TEXT_MAX_CHARS, AuditRecord, SourceRef
from schemas.events import MAX_ID_CHARS, InvalidEvent, MessageEvent, parse_event
from schemas.kafka_limits import MAX_KEY_BYTES, PRODUCER_MAX_REQUEST_BYTES, record_bytes
from schemas.text import TRUNCATED_MARKER, bounded, scrub_json
from tests.unit.sync_world import CONV, created, posted
from tests.unit.test_handler import Harness

LONE = "\ud83d"  # the first half of an emoji, cut off


def _envelope(record_value: bytes, **changes: Any) -> bytes:
    event = json.loads(record_value)
    for path, value in changes.items():
        target = event
        *parents, last = path.split("__")
        for part in parents:
            target = target[part]
        target[last] = value
    return json.dumps(event).encode()  # ensure_ascii: the surrogate travels as \ud83d


def test_a_lone_surrogate_in_text_becomes_the_replacement_character() -> None:
    value = _envelope(posted().value, data__text=f"on my way {LONE}")
    event = parse_event(CONV.encode(), value, max_bytes=1 << 20)
    assert isinstance(event, MessageEvent)
    assert event.data.text == "on my way \ufffd"


def test_a_lone_surrogate_in_an_object_key_is_replaced_too() -> None:
    assert scrub_json({f"k{LONE}": [f"v{LONE}", {"x": LONE}]}) == {
        "k\ufffd": ["v\ufffd", {"x": "\ufffd"}]
    }


def test_scrubbing_deep_json_does_not_recurse() -> None:
    nested: Any = LONE
    for _ in range(50_000):
        nested = {"a": nested}
    out = scrub_json(nested)
    for _ in range(50_000):
        out = out["a"]
    assert out == "\ufffd"


IDS = {
    "tenantId": lambda r: _envelope(r.value, tenantId=f"T{LONE}"),
    "eventId": lambda r: _envelope(r.value, eventId=f"e{LONE}"),
    "data.id": lambda r: _envelope(r.value, data__id=f"m{LONE}"),
    "data.conversationId": lambda r: _envelope(r.value, data__conversationId=f"c{LONE}"),
}


@pytest.mark.parametrize("field", IDS)
async def test_a_lone_surrogate_in_an_id_is_an_invalid_schema_with_its_audit(field: str) -> None:
    h = Harness()
    value = IDS[field](posted())
    audit = await h.feed(h.raw(CONV.encode(), value))
    assert (audit.outcome, audit.reason, audit.detail) == (
        "failed",
        "invalid_event",
        "invalid_schema",
    )
    [letter] = h.outputs.dead_letters
    assert letter.reason == "invalid_schema"
    assert field.split(".")[-1] in letter.detail and "surrogate" in letter.detail
    assert "\ud83d" not in audit.to_json().decode()
    assert h.vitally.calls == []


async def test_a_lone_surrogate_in_the_conversation_id_of_a_creation() -> None:
    h = Harness()
    value = _envelope(created().value, data__id=f"{CONV}{LONE}")
    audit = await h.feed(h.raw(CONV.encode(), value))
    assert (audit.outcome, audit.detail) == ("failed", "invalid_schema")


async def test_a_lone_surrogate_in_the_event_type_is_an_unsupported_event() -> None:
    h = Harness()
    audit = await h.feed(h.raw(CONV.encode(), _envelope(posted().value, event=f"x{LONE}")))
    assert (audit.outcome, audit.reason, audit.event) == ("skipped", "unsupported_event", "x\ufffd")
    json.loads(audit.to_json())


async def test_a_key_that_is_not_utf8_names_no_conversation() -> None:
    h = Harness()
    value = _envelope(posted().value, event="something_else")
    audit = await h.feed(h.raw(b"c\xed\xa0\x80", value))  # a surrogate in CESU-8
    assert (audit.outcome, audit.detail) == ("failed", "invalid_schema")
    json.loads(audit.to_json())


@pytest.mark.parametrize("where", ["tenantId", "eventId", "data__id"])
def test_ids_are_bounded(where: str) -> None:
    value = _envelope(posted().value, **{where: "x" * (MAX_ID_CHARS + 1)})
    with pytest.raises(InvalidEvent) as caught:
        parse_event(CONV.encode(), value, max_bytes=1 << 20)
    assert caught.value.kind == "invalid_schema"


def test_a_key_longer_than_any_id_is_refused_by_its_bytes() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(b"\xc3\xa9" * (MAX_KEY_BYTES // 2 + 1), posted().value, max_bytes=1 << 20)
    assert caught.value.kind == "invalid_schema"
    assert f"> {MAX_KEY_BYTES}" in caught.value.detail


async def test_the_audit_record_of_a_key_near_kafkas_limit_fits_a_request() -> None:
    # The key is the audit record's key and its conversationId: carried twice.
    h = Harness()
    key = b"k" * 1_040_000
    audit = await h.feed(h.raw(key, posted().value))
    assert (audit.outcome, audit.detail) == ("failed", "invalid_schema")
    assert audit.conversation_id is not None
    assert audit.conversation_id.endswith(TRUNCATED_MARKER)
    assert len(audit.conversation_id) == AUDIT_TEXT_MAX_CHARS
    assert record_bytes(audit.conversation_id.encode(), audit.to_json()) < 10_000


def test_bounded_keeps_short_text_and_marks_a_cut() -> None:
    assert bounded("abc", 10) == "abc"
    assert bounded("a" * 50, 20) == "a" * (20 - len(TRUNCATED_MARKER)) + TRUNCATED_MARKER


# Every code point, lone surrogates included (st.characters() leaves those out by default).
_ANY_CHAR = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr))
_SHORT_TEXT = st.text(_ANY_CHAR, max_size=40)
# Long text is short text repeated: generating thousands of random characters is slow.
_ANY_TEXT = _SHORT_TEXT | _SHORT_TEXT.map(lambda text: text * 200)
_JSON_SCALAR = st.none() | st.booleans() | st.integers() | _ANY_TEXT
_ANY_JSON = st.recursive(
    _JSON_SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.none()
    | st.binary(max_size=64)
    | st.binary(min_size=1, max_size=8).map(lambda b: b * 500),
    fields=st.dictionaries(
        st.sampled_from(["tenantId", "event", "eventId", "eventTimestamp", "data"]),
        _ANY_JSON,
    ),
    base=st.sampled_from(["posted", "created"]),
)
def test_every_audit_record_serialises_whatever_the_input(
    key: bytes | None, fields: dict[str, Any], base: str
) -> None:
    record = posted() if base == "posted" else created()
    event = {**json.loads(record.value), **fields}
    value = json.dumps(event).encode()
    h = Harness()
    # Harness' outputs serialise each audit record and refuse one over the request limit.
    audit = asyncio.run(h.feed(h.raw(key if key is not None else CONV.encode(), value)))
    assert json.loads(audit.to_json())["source"]["offset"] == h.offset


@settings(max_examples=200, deadline=None)
@given(text=_ANY_TEXT)
def test_any_text_in_any_audit_field_serialises(text: str) -> None:
    audit = AuditRecord(
        tenant_id=text, conversation_id=text, message_id=text, event=text, event_id=text,
        source=SourceRef(topic="t", partition=0, offset=0), outcome="failed",
        reason="invalid_event", detail=text, processed_at=0,
    )  # fmt: skip
    assert record_bytes(text[:AUDIT_TEXT_MAX_CHARS].encode("utf-8", "replace"), audit.to_json())
    assert len(audit.to_json()) < PRODUCER_MAX_REQUEST_BYTES // 10
