"""parse_event accepts every shape Unthread and the public clients of its webhooks show, and
Hypothesis variants of real payloads either parse or are rejected as InvalidEvent."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import (
    ConversationEvent,
    InboundEvent,
    InvalidEvent,
    InvalidEventKind,
    MessageEvent,
    UnsupportedEvent,
    parse_event,
)

CONV = "26884dc8-0000-4000-8000-000000000001"
MAX = 64 * 1024
CREATED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
CREATED_MS = 1795600800000  # 2026-11-25T10:00:00Z

# The sparse message from the issue: ids only.
SPARSE_MESSAGE: dict[str, Any] = {
    "id": "T08DF0UA02H-C08DWG00P25-1748707942.332879",
    "botName": "Unthread",
    "userId": "U08D38QMGQ7",
    "sentByUserId": "4e1cc76a-0000-4000-8000-000000000002",
    "text": "Looking into it",
    "conversationId": CONV,
}
FULL_MESSAGE: dict[str, Any] = {
    "id": "m_9f8e",
    "ts": "1764064800.000100",
    "conversationId": CONV,
    "text": "Hi, *export* fails",
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
    "files": [{"id": "F01", "name": "log.txt", "size": 120, "mimetype": "text/plain"}],
}
FULL_CONVERSATION: dict[str, Any] = {
    "id": CONV,
    "friendlyId": 42,
    "title": "CSV export fails",
    "status": "open",
    "priority": 5,
    "customerId": "cus_123",
    "channelId": "C07ABC",
    "createdAt": "2026-11-25T10:00:00.000Z",
    "updatedAt": "2026-11-25T10:00:00.000Z",
    "assignedToUserId": "u_sam",
    "assignedToUser": {"id": "u_sam", "name": "Sam Agent", "email": "sam@vendor.example"},
    "submitterUser": {"id": "u_jane", "name": "Jane Doe", "email": "jane@customer.example"},
    "tags": [{"id": "tag_1", "name": "billing"}],
    "initialMessage": FULL_MESSAGE,
}
SPARSE_CONVERSATION: dict[str, Any] = {
    "id": CONV,
    "title": None,
    "userId": "U08D38QMGQ7",
    "createdAt": CREATED_MS,
    "updatedAt": CREATED_MS,
}


def envelope(event: str, data: Any, **extra: Any) -> dict[str, Any]:
    return {
        "tenantId": "T01ACME",
        "event": event,
        "eventId": "0d6c7a4e-3c1f-4a51-9a43-5b0f2b1d9e11",
        "eventTimestamp": CREATED_MS,
        "webhookTimestamp": CREATED_MS + 150,
        "data": data,
        **extra,
    }


def parse(value: dict[str, Any], key: str = CONV) -> InboundEvent:
    return parse_event(key.encode(), json.dumps(value).encode(), max_bytes=MAX)


def message(**changes: Any) -> MessageEvent:
    event = parse(envelope("message_created", {**FULL_MESSAGE, **changes}))
    assert isinstance(event, MessageEvent)
    return event


def conversation(data: Any) -> ConversationEvent:
    event = parse(envelope("conversation_created", data))
    assert isinstance(event, ConversationEvent)
    return event


def test_the_sparse_message_from_the_issue_parses() -> None:
    event = parse(envelope("message_created", SPARSE_MESSAGE))
    assert isinstance(event, MessageEvent)
    data = event.data
    assert (data.user_id, data.sent_by_user_id, data.user, data.timestamp) == (
        "U08D38QMGQ7", "4e1cc76a-0000-4000-8000-000000000002", None, None
    )  # fmt: skip


def test_an_ids_only_conversation_parses() -> None:
    data = conversation(SPARSE_CONVERSATION).data
    assert data.created_at == CREATED and data.initial_message is None and data.status is None


@pytest.mark.parametrize(
    "body", [{"text": "Hi"}, {"content": "Hi"}, {"text": None, "content": "Hi"}]
)
def test_body_as_text_or_content(body: dict[str, Any]) -> None:
    payload = {k: v for k, v in FULL_MESSAGE.items() if k != "text"}
    event = parse(envelope("message_created", {**payload, **body}))
    assert isinstance(event, MessageEvent) and event.data.text == "Hi"


@pytest.mark.parametrize(
    "value",
    ["2026-11-25T10:00:00.000Z", "2026-11-25T10:00:00", "2026-11-25T11:00:00+01:00",
     CREATED_MS, str(CREATED_MS), float(CREATED_MS)],
)  # fmt: skip
def test_times_iso_or_epoch_ms(value: Any) -> None:
    data = conversation({**FULL_CONVERSATION, "createdAt": value, "updatedAt": value}).data
    assert data.created_at == data.updated_at == CREATED
    assert message(timestamp=value).data.timestamp == CREATED


def test_blank_times_are_missing() -> None:
    assert conversation({**FULL_CONVERSATION, "createdAt": ""}).data.created_at is None
    assert message(timestamp=" ").data.timestamp is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(CREATED_MS, CREATED_MS), (str(CREATED_MS), CREATED_MS), (float(CREATED_MS), CREATED_MS),
     ("2026-11-25T10:00:00Z", CREATED_MS), ("soon", None), (10**30, None), (-5, None),
     (True, None), ([1], None)],
)  # fmt: skip
def test_envelope_times_are_read_leniently(value: Any, expected: int | None) -> None:
    event = parse(envelope("message_created", FULL_MESSAGE, eventTimestamp=value))
    assert event.event_timestamp == expected


def test_conversation_nested_in_data() -> None:
    nested = {"conversation": FULL_CONVERSATION, "previousStatus": "on_hold"}
    assert conversation(nested).data == conversation(FULL_CONVERSATION).data


def test_message_conversation_nested_or_flat() -> None:
    payload = {k: v for k, v in FULL_MESSAGE.items() if k != "conversationId"}
    event = parse(envelope("message_created", {**payload, "conversation": {"id": CONV}}))
    assert event.conversation_id == CONV


@pytest.mark.parametrize("expansion", [None, "missing", "u_jane", {"id": "u_jane"}])
def test_expansions_null_missing_or_bare_ids(expansion: Any) -> None:
    data = dict(FULL_CONVERSATION)
    for name in ("submitterUser", "assignedToUser"):
        if expansion == "missing":
            data.pop(name)
        else:
            data[name] = expansion
    parsed = conversation(data).data
    if isinstance(expansion, str) and expansion != "missing" or isinstance(expansion, dict):
        assert parsed.submitter_user is not None and parsed.submitter_user.id == "u_jane"
        assert parsed.submitter_user.email is None
    else:
        assert parsed.submitter_user is None


def test_ts_as_a_number_and_tags_as_names() -> None:
    assert message(ts=1748707942.332879).data.ts == "1748707942.332879"
    tags = conversation({**FULL_CONVERSATION, "tags": ["billing", None][:1]}).data.tags
    assert tags is not None and tags[0].name == "billing"


@pytest.mark.parametrize("name", [["conversation_created"], {"a": 1}, 7])
def test_an_event_name_that_is_not_text_is_invalid_not_a_crash(name: Any) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse(envelope(name, FULL_CONVERSATION))
    assert caught.value.kind == "invalid_schema" and "event" in caught.value.detail


def test_an_unknown_event_is_unsupported() -> None:
    assert isinstance(parse(envelope("conversation_assigned", {})), UnsupportedEvent)


# --- Hypothesis: variants of the real payloads above -----------------------------------------

KINDS = set(get_args(InvalidEventKind))
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
TIMES = st.sampled_from(
    ["2026-11-25T10:00:00.000Z", "2026-11-25T10:00:00", CREATED_MS, str(CREATED_MS),
     float(CREATED_MS), "", None]
)  # fmt: skip
EXPANSIONS = st.sampled_from(
    [None, "u_jane", {"id": "u_jane"}, {"id": "u_jane", "email": "jane@customer.example"}, {}]
)
BASES = [
    ("message_created", SPARSE_MESSAGE),
    ("message_created", FULL_MESSAGE),
    ("conversation_created", FULL_CONVERSATION),
    ("conversation_updated", SPARSE_CONVERSATION),
    ("conversation_deleted", {"id": CONV}),
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


def _set(root: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> None:
    for step in path[:-1]:
        root = root[step]
    if delete:
        del root[path[-1]]
    else:
        root[path[-1]] = value


@st.composite
def tolerated_variants(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real payload reshaped only in ways the module promises to accept; with its base."""
    event, base = draw(st.sampled_from(BASES))
    data = copy.deepcopy(base)
    if event == "message_created":
        if draw(st.booleans()) and "text" in data:
            data["content"] = data.pop("text")
        if draw(st.booleans()):
            data.pop("conversationId")
            data["conversation"] = {"id": CONV}
        data["timestamp"] = draw(TIMES)
        for name in ("user", "sentByUser"):
            data[name] = draw(EXPANSIONS)
    else:
        for name in ("createdAt", "updatedAt"):
            data[name] = draw(TIMES)
        for name in ("submitterUser", "assignedToUser"):
            data[name] = draw(EXPANSIONS)
        if draw(st.booleans()):
            data = {"conversation": data}
    value = envelope(event, data)
    value["eventTimestamp"] = draw(TIMES | JSON_LEAF)
    return value, envelope(event, base)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tolerated_variants())
def test_tolerated_variants_always_parse_to_the_same_ids(
    variant: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    value, base = variant
    parsed, original = parse(value), parse(base)
    assert type(parsed) is type(original)
    assert (parsed.tenant_id, parsed.conversation_id, parsed.message_id) == (
        original.tenant_id, original.conversation_id, original.message_id,
    )  # fmt: skip
    if isinstance(parsed, MessageEvent) and isinstance(original, MessageEvent):
        assert parsed.data.text == original.data.text


@st.composite
def corrupted_variants(draw: st.DrawFn) -> bytes:
    """A real payload with some fields dropped or replaced by arbitrary JSON."""
    event, base = draw(st.sampled_from(BASES))
    value = envelope(event, copy.deepcopy(base))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(value)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        try:
            _set(value, path, draw(JSON), delete=draw(st.booleans()))
        except (KeyError, IndexError, TypeError):
            continue  # the path went away with an earlier change
    return json.dumps(value).encode()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corrupted_variants(), st.sampled_from([CONV, "other-key"]))
def test_corrupted_variants_parse_or_are_invalid_with_a_kind(value: bytes, key: str) -> None:
    try:
        event = parse_event(key.encode(), value, max_bytes=MAX)
    except InvalidEvent as error:
        assert error.kind in KINDS and error.detail and error.reason == "invalid_event"
        return
    assert event.conversation_id == key
    if event.event_timestamp is not None:
        datetime.fromtimestamp(event.event_timestamp / 1000, UTC)  # never out of range


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
    st.none() | st.binary(max_size=10),
)
def test_arbitrary_bytes_never_raise_anything_else(value: bytes, key: bytes | None) -> None:
    try:
        parse_event(key, value, max_bytes=MAX)
    except InvalidEvent as error:
        assert error.kind in KINDS
