"""enrich(): what a sparse event gets filled in from Unthread, through the cached lookups."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.direction import classify
from processors.enrichment import Enrichment, Unresolved, enrich, slack_time
from processors.unthread_lookup import CachedUnthreadLookup
from schemas.events import Conversation, ConversationEvent, Message, MessageEvent, Person
from tests.unit.unthread.fakes import ACME, InMemoryUnthread
from unthread.errors import UnthreadServerError
from unthread.target import UnthreadTarget

CONV = "26884dc8-0000-4000-8000-000000000001"
MSG_ID = "T08DF0UA02H-C08DWG00P25-1748707942.332879"
AT = datetime.fromtimestamp(1748707942.332879, UTC)


def world() -> InMemoryUnthread:
    unthread = InMemoryUnthread()
    unthread.add_user(
        ACME, id="4e1cc76a-sam", name="Sam", email="sam@vendor.example", slackId="U0SAM"
    )
    unthread.add_user(ACME, id="9a1b-jane", name="Jane", email="jane@customer.example",
                      slackId="U08D38QMGQ7")  # fmt: skip
    unthread.add_conversation(
        ACME,
        id=CONV,
        title="CSV export fails",
        status="open",
        createdAt=1748707900000,
        submitterUser={"id": "9a1b-jane", "email": "jane@customer.example"},
        assignedToUserId="4e1cc76a-sam",
        assignedToUser={"id": "4e1cc76a-sam", "name": "Sam", "email": "sam@vendor.example"},
        initialMessage={"id": MSG_ID, "text": "Export fails", "userId": "U08D38QMGQ7"},
    )
    return unthread


def message_event(**data: Any) -> MessageEvent:
    body = {"id": MSG_ID, "conversationId": CONV, "text": "hello", **data}
    return MessageEvent.model_validate(
        {"tenantId": "T01ACME", "event": "message_created", "data": body}
    )


def conversation_event(event: str = "conversation_created", **data: Any) -> ConversationEvent:
    return ConversationEvent.model_validate(
        {"tenantId": "T01ACME", "event": event, "data": {"id": CONV, **data}}
    )


async def run(
    event: MessageEvent | ConversationEvent,
    unthread: InMemoryUnthread | None = None,
    target: UnthreadTarget | None = ACME,
) -> Enrichment:
    lookup = CachedUnthreadLookup(unthread or world())
    return await enrich(event, target=target, lookup=lookup)


def conversation_of(result: Enrichment) -> Conversation:
    assert isinstance(result.event, ConversationEvent)
    return result.event.data


def message_of(result: Enrichment) -> Message:
    assert isinstance(result.event, MessageEvent)
    return result.event.data


async def test_sparse_message_from_the_issue_gets_the_agent_by_sent_by_user_id() -> None:
    unthread = world()
    event = message_event(botName="Unthread", userId="U08D38QMGQ7", sentByUserId="4e1cc76a-sam")
    result = await run(event, unthread)
    message = message_of(result)
    assert message.sent_by_user == Person(id="4e1cc76a-sam", name="Sam", email="sam@vendor.example")
    assert message.timestamp == AT
    assert unthread.calls == [("id", "4e1cc76a-sam")]
    assert result.unresolved == () and result.lookups == 1
    sender = classify(message, submitter_email="jane@customer.example")
    assert (getattr(sender, "side", None), getattr(sender, "email", None)) == (
        "support",
        "sam@vendor.example",
    )


async def test_customer_message_gets_its_sender_by_slack_id() -> None:
    unthread = world()
    message = message_of(await run(message_event(userId="U08D38QMGQ7"), unthread))
    assert message.user is not None and message.user.email == "jane@customer.example"
    assert unthread.calls == [("slackId", "U08D38QMGQ7")]


async def test_what_the_event_says_is_kept_and_costs_no_call() -> None:
    unthread = world()
    event = message_event(
        userId="U08D38QMGQ7",
        user={"id": "x", "email": "given@customer.example"},
        timestamp="2026-11-25T10:00:00Z",
    )
    result = await run(event, unthread)
    assert message_of(result) == event.data
    assert unthread.calls == [] and result.lookups == 0


async def test_sent_by_user_unknown_falls_back_to_the_slack_user() -> None:
    unthread = world()
    result = await run(message_event(userId="U08D38QMGQ7", sentByUserId="gone"), unthread)
    message = message_of(result)
    assert message.sent_by_user is None
    assert message.user is not None and message.user.email == "jane@customer.example"
    assert result.unresolved == (Unresolved("message", "sentByUser", "id", "gone", "not_found"),)


@pytest.mark.parametrize(
    "flags",
    [{"isPrivateNote": True}, {"isAutoresponse": True}, {"botId": "B01"}],
)
async def test_messages_that_are_not_synced_cost_no_lookup(flags: dict[str, Any]) -> None:
    unthread = world()
    result = await run(message_event(userId="U08D38QMGQ7", **flags), unthread)
    assert unthread.calls == [] and message_of(result).timestamp == AT


@pytest.mark.parametrize(
    ("ts", "message_id", "expected"),
    [
        ("1748707942.332879", "m_1", AT),
        (None, MSG_ID, AT),
        (None, "m_9f8e", None),
        ("not-a-ts", "m-1", None),
        (None, "C08-1748707942", None),
    ],
)
def test_slack_time(ts: str | None, message_id: str, expected: datetime | None) -> None:
    assert slack_time(Message(id=message_id, ts=ts)) == expected


async def test_without_a_key_nothing_is_called_and_the_ids_are_named() -> None:
    unthread = world()
    event = message_event(userId="U08D38QMGQ7", sentByUserId="4e1cc76a-sam")
    result = await run(event, unthread, target=None)
    message = message_of(result)
    assert message.user is None and message.sent_by_user is None
    assert unthread.calls == [] and result.needs_unthread_key
    assert result.unresolved == (
        Unresolved("message", "sentByUser", "id", "4e1cc76a-sam", "no_unthread_key"),
        Unresolved("message", "user", "slackId", "U08D38QMGQ7", "no_unthread_key"),
    )


async def test_ids_only_conversation_is_completed_from_get_conversation() -> None:
    unthread = world()
    event = conversation_event(title=None, userId="U08D38QMGQ7", createdAt=1748707900000)
    result = await run(event, unthread)
    assert isinstance(result.event, ConversationEvent)
    conversation = result.event.data
    assert conversation.status == "open" and conversation.title == "CSV export fails"
    assert conversation.submitter_user is not None
    assert conversation.submitter_user.email == "jane@customer.example"
    assert conversation.assigned_to_user is not None
    initial = conversation.initial_message
    assert initial is not None and initial.conversation_id == CONV and initial.timestamp == AT
    # The REST answer's initial message had no `user`: one more lookup, by Slack id.
    assert initial.user is not None and initial.user.email == "jane@customer.example"
    assert unthread.calls == [("conversation", CONV), ("slackId", "U08D38QMGQ7")]
    assert result.unresolved == ()


async def test_event_fields_win_over_fetched_ones() -> None:
    event = conversation_event(title="Mine", status="on_hold")
    conversation = conversation_of(await run(event))
    assert (conversation.title, conversation.status) == ("Mine", "on_hold")


async def test_a_complete_conversation_costs_nothing() -> None:
    unthread = world()
    event = conversation_event(
        status="open",
        createdAt="2026-11-25T10:00:00Z",
        submitterUser={"id": "9a1b-jane", "email": "jane@customer.example"},
        initialMessage={"id": "m1", "user": {"email": "jane@customer.example"}, "ts": "1.5"},
        assignedToUserId=None,
    )
    result = await run(event, unthread)
    assert unthread.calls == [] and result.lookups == 0
    conversation = conversation_of(result)
    assert conversation.model_dump(exclude={"initial_message"}) == event.data.model_dump(
        exclude={"initial_message"}
    )
    assert conversation.initial_message is not None
    assert conversation.initial_message.conversation_id == CONV


async def test_submitter_and_assignee_named_by_id_only_are_looked_up() -> None:
    unthread = world()
    unthread.conversations.clear()
    event = conversation_event(
        status="open",
        createdAt="2026-11-25T10:00:00Z",
        submitterUser={"id": "9a1b-jane"},
        assignedToUserId="4e1cc76a-sam",
        initialMessage={"id": "m1", "user": {"email": "jane@customer.example"}},
    )
    result = await run(event, unthread)
    conversation = conversation_of(result)
    assert conversation.submitter_user == Person(
        id="9a1b-jane", name="Jane", email="jane@customer.example"
    )
    assert conversation.assigned_to_user is not None
    assert conversation.assigned_to_user.email == "sam@vendor.example"
    assert result.unresolved == (
        Unresolved("conversation", "conversation", "id", CONV, "not_found"),
    )


async def test_an_update_naming_its_assignee_by_id_costs_one_user_lookup() -> None:
    unthread = world()
    event = conversation_event(
        "conversation_updated", status="closed", assignedToUserId="4e1cc76a-sam"
    )
    conversation = conversation_of(await run(event, unthread))
    assert conversation.assigned_to_user is not None
    assert conversation.assigned_to_user.email == "sam@vendor.example"
    assert conversation.initial_message is None  # an update needs no more
    assert unthread.calls == [("id", "4e1cc76a-sam")]


async def test_an_update_silent_on_its_assignee_fetches_the_conversation() -> None:
    unthread = world()
    conversation = conversation_of(
        await run(conversation_event("conversation_updated", status="closed"), unthread)
    )
    assert conversation.status == "closed"  # the event's own
    assert conversation.assigned_to_user is not None
    assert conversation.assigned_to_user.email == "sam@vendor.example"
    assert unthread.calls == [("conversation", CONV)]


async def test_an_explicitly_unassigned_conversation_stays_unassigned() -> None:
    unthread = world()
    update = conversation_event("conversation_updated", assignedToUserId=None)
    updated = conversation_of(await run(update, unthread))
    # Fetched for its status (left out), yet the payload's word on the assignee stands.
    assert updated.assigned_to_user is None and updated.status == "open"
    assert unthread.calls == [("conversation", CONV)]
    created = conversation_of(await run(conversation_event(assignedToUser=None), unthread))
    assert created.assigned_to_user is None and created.assigned_to_user_id is None
    assert created.initial_message is not None  # the rest was still filled in


async def test_conversation_without_a_key() -> None:
    result = await run(conversation_event(), target=None)
    assert result.unresolved == (
        Unresolved("conversation", "conversation", "id", CONV, "no_unthread_key"),
    )
    assert result.needs_unthread_key


async def test_deleted_conversations_are_left_alone() -> None:
    unthread = world()
    result = await run(conversation_event("conversation_deleted"), unthread)
    assert unthread.calls == [] and result.unresolved == ()


async def test_a_burst_shares_one_lookup_per_key() -> None:
    unthread = world()
    unthread.gate = asyncio.Event()
    lookup = CachedUnthreadLookup(unthread)
    event = message_event(userId="U08D38QMGQ7")
    burst = [asyncio.create_task(enrich(event, target=ACME, lookup=lookup)) for _ in range(20)]
    await asyncio.sleep(0)
    unthread.gate.set()
    results = await asyncio.gather(*burst)
    assert unthread.calls == [("slackId", "U08D38QMGQ7")]
    assert all(message_of(r).user is not None for r in results)
    again = await enrich(event, target=ACME, lookup=lookup)
    assert message_of(again).user is not None and len(unthread.calls) == 1


async def test_cache_is_per_tenant_key() -> None:
    unthread = world()
    lookup = CachedUnthreadLookup(unthread)
    rotated = UnthreadTarget.for_tenant("T01ACME", "new-key", ACME.base_url)
    event = message_event(userId="U08D38QMGQ7")
    await enrich(event, target=ACME, lookup=lookup)
    await enrich(event, target=rotated, lookup=lookup)
    assert len(unthread.calls) == 2


async def test_misses_are_cached_and_errors_are_not() -> None:
    unthread = world()
    unthread.fail_next = 1
    lookup = CachedUnthreadLookup(unthread)
    event = message_event(userId="U0NOBODY")
    with pytest.raises(UnthreadServerError):
        await enrich(event, target=ACME, lookup=lookup)
    first = await enrich(event, target=ACME, lookup=lookup)
    second = await enrich(event, target=ACME, lookup=lookup)
    assert (
        first.unresolved
        == second.unresolved
        == (Unresolved("message", "user", "slackId", "U0NOBODY", "not_found"),)
    )
    assert len(unthread.calls) == 2  # the failure, then one miss, cached


SENDERS = st.sampled_from([None, "U08D38QMGQ7", "U0SAM", "U0NOBODY"])
UNTHREAD_IDS = st.sampled_from([None, "4e1cc76a-sam", "9a1b-jane", "gone"])
PEOPLE = st.sampled_from([None, {"id": "x"}, {"email": "given@customer.example"}])


@st.composite
def sparse_messages(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"id": draw(st.sampled_from([MSG_ID, "m_9f8e"])), "text": "hi"}
    for name, values in [
        ("userId", SENDERS), ("sentByUserId", UNTHREAD_IDS), ("user", PEOPLE),
        ("sentByUser", PEOPLE), ("ts", st.sampled_from([None, "1748707942.332879"])),
        ("timestamp", st.sampled_from([None, "2026-11-25T10:00:00Z"])),
        ("botId", st.sampled_from([None, "B01"])), ("isPrivateNote", st.sampled_from([None, True])),
    ]:  # fmt: skip
        if draw(st.booleans()):
            body[name] = draw(values)
    return body


@settings(max_examples=200, deadline=None)
@given(sparse_messages(), st.booleans())
def test_enrichment_only_fills_gaps(body: dict[str, Any], with_key: bool) -> None:
    unthread = world()
    event = message_event(**body)
    result = asyncio.run(run(event, unthread, target=ACME if with_key else None))
    before, after = event.data.model_dump(), message_of(result).model_dump()
    for name, value in before.items():
        if value is not None and not isinstance(value, dict):
            assert after[name] == value, name
    for person in ("user", "sent_by_user"):
        given_person = before[person]
        if given_person is not None:  # a person the event named keeps what it said of them
            assert {k: v for k, v in after[person].items() if given_person[k]} == {
                k: v for k, v in given_person.items() if v
            }
    assert len(unthread.calls) == result.lookups <= 2
    assert with_key or (unthread.calls == [] and result.event == event.model_copy(
        update={"data": event.data.model_copy(update={"timestamp": after["timestamp"]})}
    ))  # fmt: skip
