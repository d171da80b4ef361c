"""Mentions by name: the event's people first, else the tenant's Unthread users by Slack id
(cached), else a neutral "@user"; never a wrong name."""

from __future__ import annotations

from typing import Any

import pytest

from processors.body import message_body
from processors.enrichment import enrich
from processors.mentions import MAX_LOOKUPS, labelled, unnamed
from processors.unthread_lookup import CachedUnthreadLookup
from schemas.events import ConversationEvent, Message, MessageEvent
from tests.unit.unthread.fakes import ACME, InMemoryUnthread
from unthread.errors import UnthreadServerError
from unthread.target import UnthreadTarget

CONV = "26884dc8-0000-4000-8000-000000000001"


def tenant_users() -> InMemoryUnthread:
    unthread = InMemoryUnthread()
    unthread.add_user(ACME, id="u-sam", name="Sam <Ops> & Co", email="sam@vendor.example",
                      slackId="U07AGENT")  # fmt: skip
    unthread.add_user(ACME, id="u-jane", name="Jane", email="jane@customer.example",
                      slackId="U08JANE")  # fmt: skip
    return unthread


async def enriched(
    text: str, unthread: InMemoryUnthread, target: UnthreadTarget | None = ACME, **data: Any
) -> tuple[Message, int]:
    event = MessageEvent.model_validate(
        {
            "tenantId": "T01ACME",
            "event": "message_created",
            "data": {"id": "m1", "conversationId": CONV, "text": text, **data},
        }
    )
    result = await enrich(event, target=target, lookup=CachedUnthreadLookup(unthread))
    assert isinstance(result.event, MessageEvent)
    return result.event.data, result.lookups


async def test_a_mention_reads_as_the_unthread_users_name() -> None:
    unthread = tenant_users()
    message, _ = await enriched(
        "<@U07AGENT> can you look? cc <@U08JANE>", unthread,
        user={"id": "u-jane", "slackId": "U08JANE", "name": "Jane D.", "email": "j@c.example"},
    )  # fmt: skip
    # The author is named by the event (no call); the other mention by Unthread, escaped once.
    assert unthread.calls == [("slackId", "U07AGENT")]
    assert message_body(message) == "<p>@Sam &lt;Ops&gt; &amp; Co can you look? cc @Jane D.</p>"


async def test_lookups_are_cached_across_messages() -> None:
    unthread = tenant_users()
    lookup = CachedUnthreadLookup(unthread)
    for _ in range(3):
        event = MessageEvent.model_validate(
            {"tenantId": "T01ACME", "event": "message_created",
             "data": {"id": "m", "conversationId": CONV, "text": "ping <@U07AGENT>",
                      "user": {"email": "jane@customer.example"}}}
        )  # fmt: skip
        await enrich(event, target=ACME, lookup=lookup)
    assert unthread.calls == [("slackId", "U07AGENT")]


async def test_without_a_key_a_mention_is_neutral_and_nothing_is_unresolved() -> None:
    unthread = tenant_users()
    event = MessageEvent.model_validate(
        {"tenantId": "T01ACME", "event": "message_created",
         "data": {"id": "m", "conversationId": CONV, "text": "hi <@U07AGENT>",
                  "user": {"email": "jane@customer.example"}}}
    )  # fmt: skip
    result = await enrich(event, target=None, lookup=CachedUnthreadLookup(unthread))
    assert unthread.calls == [] and result.unresolved == ()
    assert isinstance(result.event, MessageEvent)
    assert message_body(result.event.data) == "<p>hi @user</p>"


async def test_an_unknown_id_stays_neutral_never_a_wrong_name() -> None:
    message, lookups = await enriched(
        "hi <@U0NOBODY>", tenant_users(), user={"email": "jane@customer.example"}
    )
    assert lookups == 1
    assert message_body(message) == "<p>hi @user</p>"


async def test_mentions_in_code_and_private_notes_cost_no_call() -> None:
    unthread = tenant_users()
    await enriched("`<@U07AGENT>` and ```<@U08JANE>```", unthread, user={"email": "j@c.example"})
    await enriched("<@U07AGENT>", unthread, isPrivateNote=True)
    assert unthread.calls == []


async def test_a_failed_look_up_is_not_posted_as_a_neutral_name() -> None:
    # The stream layer retries or parks on UnthreadError; the next attempt names Sam.
    unthread = tenant_users()
    unthread.fail_next = 1
    with pytest.raises(UnthreadServerError):
        await enriched("hi <@U07AGENT>", unthread, user={"email": "jane@customer.example"})
    message, _ = await enriched("hi <@U07AGENT>", unthread, user={"email": "j@c.example"})
    assert message_body(message) == "<p>hi @Sam &lt;Ops&gt; &amp; Co</p>"


def test_a_label_the_sender_gave_is_kept() -> None:
    text = "<@U1|Ann> <@U2> `<@U3>`"
    assert unnamed(text, {}) == ["U2"]
    assert labelled(text, {"U1": "X", "U2": "Bo|b", "U3": "Z"}) == "<@U1|Ann> <@U2|Bo/b> `<@U3>`"


def test_lookups_per_message_are_bounded() -> None:
    text = " ".join(f"<@U{i:03d}>" for i in range(MAX_LOOKUPS + 5))
    assert unnamed(text, {}) == [f"U{i:03d}" for i in range(MAX_LOOKUPS)]


async def test_an_initial_message_names_the_conversations_people_without_a_key() -> None:
    unthread = tenant_users()
    event = ConversationEvent.model_validate(
        {"tenantId": "T01ACME", "event": "conversation_created",
         "data": {"id": CONV, "status": "open", "createdAt": "2026-11-25T10:00:00Z",
                  "assignedToUser": {"id": "u-sam", "name": "Sam", "slackId": "U07AGENT",
                                     "email": "sam@vendor.example"},
                  "submitterUser": {"id": "u-jane", "email": "jane@customer.example"},
                  "initialMessage": {"id": "m0", "text": "<@U07AGENT> help, cc <@U0OTHER>",
                                     "user": {"email": "jane@customer.example"}}}}
    )  # fmt: skip
    result = await enrich(event, target=None, lookup=CachedUnthreadLookup(unthread))
    assert isinstance(result.event, ConversationEvent)
    initial = result.event.data.initial_message
    assert initial is not None and unthread.calls == []
    assert message_body(initial) == "<p>@Sam help, cc @user</p>"
