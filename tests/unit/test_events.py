"""parse_event: the four event types, tolerant fields, and every way a record is invalid."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from demo import events as ev

from schemas.events import (
    ConversationEvent,
    FileRef,
    InvalidEvent,
    MessageEvent,
    UnsupportedEvent,
    ignored_fields,
    parse_event,
)

CONV = "c0f1e2d3-0000-4000-8000-000000000001"
MAX = 64 * 1024


def record(event: dict[str, Any], key: str | None = CONV) -> tuple[bytes | None, bytes]:
    return (key.encode() if key is not None else None), json.dumps(event).encode()


def conversation_envelope(event: str = "conversation_created", **data: Any) -> dict[str, Any]:
    initial = ev.message(CONV, "Hi", message_id="m_1", sender="jane@customer.example")
    body = ev.conversation(
        CONV,
        title="CSV export fails",
        submitter="jane@customer.example",
        assignee="sam@vendor.example",
        initial=initial,
    )
    body.update(data)
    return ev.envelope("T01ACME", event, body)


def message_envelope(**data: Any) -> dict[str, Any]:
    body = ev.message(
        CONV, "Any news?", message_id="m_2", sender="jane@customer.example", external=True
    )
    body.update(data)
    return ev.envelope("T01ACME", "message_created", body)


def invalid(key: bytes | None, value: bytes | None, max_bytes: int = MAX) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(key, value, max_bytes=max_bytes)
    assert caught.value.reason == "invalid_event"
    return caught.value


@pytest.mark.parametrize(
    "kind", ["conversation_created", "conversation_updated", "conversation_deleted"]
)
def test_conversation_events(kind: str) -> None:
    key, value = record(conversation_envelope(kind))
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, ConversationEvent)
    assert event.event == kind
    assert event.tenant_id == "T01ACME"
    assert event.conversation_id == CONV
    assert event.message_id is None
    assert event.data.title == "CSV export fails"
    assert event.data.submitter_user is not None
    assert event.data.submitter_user.email == "jane@customer.example"
    assert event.data.initial_message is not None
    assert event.data.initial_message.id == "m_1"
    assert event.data.created_at == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_message_created() -> None:
    key, value = record(message_envelope())
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, MessageEvent)
    assert event.conversation_id == CONV
    assert event.message_id == "m_2"
    assert event.data.text == "Any news?"
    assert event.data.is_external is True
    assert event.event_timestamp == int(ev.EPOCH.timestamp() * 1000)


def test_contract_example_message_parses_field_by_field() -> None:
    data = {
        "id": "m_9f8e",
        "ts": "1764064800.000100",
        "conversationId": CONV,
        "text": "Hi, *export* fails with <https://app.example/x|this link>",
        "timestamp": "2026-11-25T10:00:00.000Z",
        "userId": "U123",
        "user": {"id": "u_jane", "name": "Jane Doe", "email": "jane@customer.example"},
        "sentByUserId": None,
        "sentByUser": None,
        "isExternal": True,
        "isPrivateNote": False,
        "isAutoresponse": False,
        "botId": None,
        "botName": None,
        "files": [
            {
                "id": "F01",
                "name": "log.txt",
                "size": 120,
                "mimetype": "text/plain",
                "urlPrivate": "https://files.example/F01",
                "permalinkPublic": "https://slack-files.example/T01-F01-x",
                "publicUrlShared": True,
                "filetype": "text",
            },
            {"id": "F02"},
        ],
    }
    key, value = record(ev.envelope("T01ACME", "message_created", data))
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, MessageEvent)
    assert event.data.user is not None and event.data.user.email == "jane@customer.example"
    assert event.data.files is not None and event.data.files[0].name == "log.txt"
    assert event.data.files[0].permalink_public == "https://slack-files.example/T01-F01-x"
    assert (event.data.files[0].public_url_shared, event.data.files[0].filetype) == (True, "text")
    assert event.data.files[1] == FileRef(id="F02")  # every other field may be missing
    assert event.data.is_private_note is False
    assert event.data.timestamp == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_body_as_content_instead_of_text() -> None:
    envelope = message_envelope()
    del envelope["data"]["text"]
    envelope["data"]["content"] = "from content"
    key, value = record(envelope)
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, MessageEvent)
    assert event.data.text == "from content"


def test_null_text_falls_back_to_content_but_text_wins_when_both_set() -> None:
    key, value = record(message_envelope(text=None, content="from content"))
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, MessageEvent) and event.data.text == "from content"
    key, value = record(message_envelope(text="from text", content="from content"))
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, MessageEvent) and event.data.text == "from text"


def test_initial_message_content_is_accepted_too() -> None:
    envelope = conversation_envelope()
    initial = envelope["data"]["initialMessage"]
    initial["content"] = initial.pop("text")
    key, value = record(envelope)
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, ConversationEvent)
    assert event.data.initial_message is not None
    assert event.data.initial_message.text == "Hi"


OPTIONAL_CONVERSATION_FIELDS = [
    "title",
    "assignedToUserId",
    "assignedToUser",
    "submitterUser",
    "tags",
    "priority",
    "initialMessage",
]


@pytest.mark.parametrize("missing", [True, False], ids=["missing", "null"])
def test_optional_conversation_fields_may_be_missing_or_null(missing: bool) -> None:
    envelope = conversation_envelope()
    for name in OPTIONAL_CONVERSATION_FIELDS:
        if missing:
            del envelope["data"][name]
        else:
            envelope["data"][name] = None
    key, value = record(envelope)
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, ConversationEvent)
    assert event.data.title is None
    assert event.data.initial_message is None
    assert event.data.submitter_user is None
    assert event.data.tags is None


def test_a_message_with_only_id_and_conversation_id() -> None:
    key, value = record(
        ev.envelope("T01ACME", "message_created", {"id": "m_2", "conversationId": CONV})
    )
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, MessageEvent)
    assert event.data.text is None
    assert event.data.user is None
    assert event.data.is_external is None


def test_unknown_fields_and_optional_envelope_fields_are_tolerated() -> None:
    envelope = message_envelope(threadTs="1.2", metadata={"eventType": "x"})
    envelope["somethingNew"] = {"nested": True}
    for name in ("eventId", "eventTimestamp", "webhookTimestamp"):
        del envelope[name]
    key, value = record(envelope)
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, MessageEvent)
    assert event.event_id is None and event.event_timestamp is None


def test_timestamp_without_zone_is_utc() -> None:
    key, value = record(message_envelope(timestamp="2026-11-25T10:00:00"))
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, MessageEvent)
    assert event.data.timestamp == datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_unsupported_event_type() -> None:
    envelope = ev.envelope("T01ACME", "conversation_assigned", {"whatever": 1})
    key, value = record(envelope)
    event = parse_event(key, value, max_bytes=MAX)
    assert isinstance(event, UnsupportedEvent)
    assert event.event == "conversation_assigned"
    assert event.tenant_id == "T01ACME"
    assert event.conversation_id == CONV  # from the key: the audit record can name it
    assert event.message_id is None


# ----- invalid records: each kind, with what the audit record can still say -----


@pytest.mark.parametrize("value", [b"{not json", b"", None, b"\xff\xfe\x00garbage"])
def test_invalid_json(value: bytes | None) -> None:
    error = invalid(CONV.encode(), value)
    assert error.kind == "invalid_json"
    assert error.envelope == {}


@pytest.mark.parametrize("value", [b"[1, 2]", b'"a string"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object(value: bytes) -> None:
    error = invalid(CONV.encode(), value)
    assert error.kind == "invalid_json"
    assert "object" in error.detail


def test_deeply_nested_json_is_invalid_not_a_crash() -> None:
    # Within the size limit, but deeper than the JSON decoder's recursion limit.
    depth = 20_000
    value = b'{"tenantId": "T01ACME", "data": ' + b"[" * depth + b"]" * depth + b"}"
    error = invalid(CONV.encode(), value, max_bytes=len(value))
    assert error.kind == "invalid_json"


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda e: e.pop("tenantId"), "tenantId"),
        (lambda e: e.update(tenantId=""), "tenantId"),
        (lambda e: e.update(tenantId=None), "tenantId"),
        (lambda e: e.pop("data"), "data"),
        (lambda e: e.update(data="not an object"), "data"),
        (lambda e: e["data"].pop("id"), "id"),
        (lambda e: e["data"].update(id=""), "id"),
        (lambda e: e["data"].pop("conversationId"), "conversationId"),
        (lambda e: e["data"].update(isExternal="perhaps"), "isExternal"),
    ],
)
def test_invalid_schema_message(mutate: Any, where: str) -> None:
    envelope = message_envelope()
    mutate(envelope)
    key, value = record(envelope)
    error = invalid(key, value)
    assert error.kind == "invalid_schema"
    assert where in error.detail
    assert error.envelope["event"] == "message_created"


def test_invalid_schema_conversation_without_id() -> None:
    envelope = conversation_envelope()
    del envelope["data"]["id"]
    key, value = record(envelope)
    error = invalid(key, value)
    assert error.kind == "invalid_schema"
    assert error.envelope["tenantId"] == "T01ACME"


def test_invalid_schema_initial_message_without_id() -> None:
    envelope = conversation_envelope()
    del envelope["data"]["initialMessage"]["id"]
    key, value = record(envelope)
    assert invalid(key, value).kind == "invalid_schema"


def test_invalid_schema_without_event_type() -> None:
    envelope = message_envelope()
    del envelope["event"]
    key, value = record(envelope)
    assert invalid(key, value).kind == "invalid_schema"


@pytest.mark.parametrize("key", [None, b""])
def test_missing_key_keeps_the_envelope_for_the_audit(key: bytes | None) -> None:
    envelope = message_envelope()
    _, value = record(envelope)
    error = invalid(key, value)
    assert error.kind == "missing_key"
    assert error.envelope == {
        "tenantId": "T01ACME",
        "event": "message_created",
        "eventId": envelope["eventId"],
        "eventTimestamp": envelope["eventTimestamp"],
    }


@pytest.mark.parametrize("make", [message_envelope, conversation_envelope])
def test_key_mismatch(make: Any) -> None:
    key, value = record(make(), key="c_another-conversation")
    error = invalid(key, value)
    assert error.kind == "key_mismatch"
    assert error.envelope["tenantId"] == "T01ACME"


def test_oversized_is_refused_before_parsing() -> None:
    key, value = record(message_envelope())
    assert parse_event(key, value, max_bytes=len(value)).message_id == "m_2"  # at the limit
    error = invalid(key, value, max_bytes=len(value) - 1)
    assert error.kind == "oversized"
    assert error.envelope == {}


def test_oversized_wins_even_for_garbage() -> None:
    assert invalid(CONV.encode(), b"x" * 100, max_bytes=10).kind == "oversized"


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        # Valid JSON to json.loads, but not UTF-8: parking keeps records as UTF-8 text.
        (b"c1", '{"event": "x"}'.encode("utf-16"), "invalid_json"),
        (
            b"c1\xff",
            # An id holding U+FFFD is no usable id, whatever the key says.
            b'{"tenantId": "T", "event": "conversation_deleted", "data": {"id": "c1\xef\xbf\xbd"}}',
            "invalid_schema",
        ),
    ],
)
def test_records_that_are_not_utf8_are_invalid(key: bytes, value: bytes, kind: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(key, value, max_bytes=10_000)
    assert caught.value.kind == kind


# ----- odd informative values are left out, not fatal (issue: one odd value cost the event) -----


def test_odd_informative_values_are_left_out_and_named() -> None:
    event = parse_event(
        *record(
            conversation_envelope(
                priority="high",
                tags=[None, {"id": "t1", "name": "billing"}, 7],
                status=3,
            )
        ),
        max_bytes=MAX,
    )
    assert isinstance(event, ConversationEvent)
    assert event.data.priority is None and event.data.status is None
    assert [t.name for t in event.data.tags or []] == ["billing"]
    assert set(ignored_fields(event)) == {"priority", "status", "tags[0]", "tags[2]"}
    # Left out is as if not sent: an update does not clear the trait from it.
    assert "priority" not in event.data.model_fields_set


def test_odd_values_of_the_initial_message_are_named_under_it() -> None:
    initial = ev.message(CONV, "Hi", message_id="m_1", sender="jane@customer.example")
    initial.update(files=[{"name": "a.txt"}, "not a file"], timestamp="yesterday")
    event = parse_event(*record(conversation_envelope(initialMessage=initial)), max_bytes=MAX)
    assert set(ignored_fields(event)) == {"initialMessage.timestamp", "initialMessage.files[1]"}
    assert isinstance(event, ConversationEvent) and event.data.initial_message is not None
    assert event.data.initial_message.text == "Hi"


def test_a_deciding_field_stays_strict_next_to_an_odd_informative_one() -> None:
    error = invalid(*record(message_envelope(isPrivateNote="perhaps", botName=["x"])))
    assert "isPrivateNote" in error.detail


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_content_is_read_when_text_is_blank(text: str | None) -> None:
    event = parse_event(*record(message_envelope(text=text, content="From content")), max_bytes=MAX)
    assert isinstance(event, MessageEvent) and event.data.text == "From content"


@pytest.mark.parametrize(
    ("sent", "ms"),
    [
        (1764064800, 1764064800000),  # seconds
        (1764064800.25, 1764064800250),  # seconds with a fraction
        (1764064800000, 1764064800000),  # milliseconds, as documented
        ("1764064800", 1764064800000),
    ],
)
def test_event_times_in_seconds_or_milliseconds(sent: object, ms: int) -> None:
    envelope = message_envelope()
    envelope["eventTimestamp"] = sent
    event = parse_event(*record(envelope), max_bytes=MAX)
    assert event.event_timestamp == ms


def test_a_list_of_odd_values_alone_is_left_out_whole_not_emptied() -> None:
    # An empty list would say "no tags" and clear the trait; nothing readable says nothing.
    event = parse_event(
        *record(conversation_envelope("conversation_updated", tags=[None, 3])), max_bytes=MAX
    )
    assert isinstance(event, ConversationEvent)
    assert "tags" not in event.data.model_fields_set
    assert ignored_fields(event) == ("tags[0]", "tags[1]")
