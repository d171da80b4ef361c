"""The real client (aiohttp pool and all) against the Unthread sandbox as a real server:
both sides agree on the wire format, auth and throttling."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from processors.enrichment import enrich
from processors.unthread_lookup import CachedUnthreadLookup
from schemas.events import ConversationEvent, MessageEvent
from schemas.unthread import Condition, ListQuery
from tests.fixtures.unthread_sandbox import UnthreadSandboxHandle, unthread_sandbox, unthread_server
from unthread import (
    UnthreadAuthError,
    UnthreadClient,
    UnthreadNotFound,
    UnthreadRateLimited,
    UnthreadServerError,
    UnthreadTarget,
    build_http_client,
    default_limiter,
)
from vitally import RetryPolicy

__all__ = ["unthread_sandbox", "unthread_server"]

KEY = "acme-unthread-key"
CONV = "26884dc8-0000-4000-8000-000000000001"


@pytest.fixture
async def client() -> AsyncIterator[UnthreadClient]:
    client = UnthreadClient(
        build_http_client(timeout=5.0),
        limiter=default_limiter(),
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=2.0, jitter=0.0),
    )
    yield client
    await client.aclose()


@pytest.fixture
def acme(unthread_sandbox: UnthreadSandboxHandle) -> UnthreadTarget:
    unthread_sandbox.add_tenant(
        "T01ACME",
        keys=[KEY, {"key": "disabled-key", "disabled": True}],
        users=[
            {"id": "4e1cc76a-agent", "email": "sam@vendor.example", "slackId": "U0SAM"},
            {"id": "9a1b-jane", "email": "jane@customer.example", "slackId": "U08D38QMGQ7"},
        ],
        conversations=[
            {"id": CONV, "title": "CSV", "status": "in_progress", "submitterUserId": "9a1b-jane",
             "assignedToUserId": "4e1cc76a-agent", "createdAt": 1748707942332,
             "initialMessage": {"id": "T08-C08-1748707942.332879", "text": "Hi",
                                "userId": "U08D38QMGQ7"}},
        ],
    )  # fmt: skip
    return UnthreadTarget.for_tenant("T01ACME", KEY, unthread_sandbox.api_url)


async def test_lookups(client: UnthreadClient, acme: UnthreadTarget) -> None:
    await client.validate_key(acme)
    by_slack = await client.get_user_by_slack_id(acme, "U08D38QMGQ7")
    assert by_slack is not None and by_slack.email == "jane@customer.example"
    by_id = await client.get_user_by_id(acme, "4e1cc76a-agent")
    assert by_id is not None and by_id.email == "sam@vendor.example"
    assert await client.get_user_by_slack_id(acme, "U0NOBODY") is None
    conversation = await client.get_conversation(acme, CONV)
    assert conversation is not None and conversation.status == "in_progress"
    assert conversation.submitter_user is not None
    assert conversation.submitter_user.email == "jane@customer.example"
    assert conversation.assigned_to_user is not None
    initial = conversation.initial_message
    assert initial is not None and initial.user is not None
    assert initial.user.email == "jane@customer.example"
    assert await client.get_conversation(acme, "missing") is None


async def test_refused_keys(
    client: UnthreadClient, acme: UnthreadTarget, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    wrong = UnthreadTarget.for_tenant("T01ACME", "wrong", unthread_sandbox.api_url)
    with pytest.raises(UnthreadAuthError) as unknown:
        await client.validate_key(wrong)
    assert not unknown.value.forbidden
    disabled = UnthreadTarget.for_tenant("T01ACME", "disabled-key", unthread_sandbox.api_url)
    with pytest.raises(UnthreadAuthError) as forbidden:
        await client.validate_key(disabled)
    assert forbidden.value.forbidden
    requests = unthread_sandbox.requests("T01ACME")
    assert all("wrong" not in str(r) and "disabled-key" not in str(r) for r in requests)


async def test_faults_and_rate_limit(
    client: UnthreadClient, acme: UnthreadTarget, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    unthread_sandbox.set_faults("T01ACME", error_rate=1.0)
    with pytest.raises(UnthreadServerError):
        await client.get_conversation(acme, CONV)
    assert unthread_sandbox.stats("T01ACME")["byStatus"] == {"503": 2}
    unthread_sandbox.set_faults("T01ACME", error_rate=None, rate_limit=1)
    await client.validate_key(acme)
    with pytest.raises(UnthreadRateLimited) as limited:
        await client.validate_key(acme)
    assert limited.value.retry_after is not None and limited.value.retry_after > 2


async def test_enrichment_over_the_real_client(
    client: UnthreadClient, acme: UnthreadTarget, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    """The sparse message and conversation from the issue, completed end to end."""
    lookup = CachedUnthreadLookup(client)
    message = MessageEvent.model_validate(
        {"tenantId": "T01ACME", "event": "message_created",
         "data": {"id": "T08DF0UA02H-C08DWG00P25-1748707942.332879", "botName": "Unthread",
                  "userId": "U08D38QMGQ7", "sentByUserId": "4e1cc76a-agent", "text": "On it",
                  "conversationId": CONV}}
    )  # fmt: skip
    for _ in range(3):
        result = await enrich(message, target=acme, lookup=lookup)
    assert isinstance(result.event, MessageEvent)
    assert result.event.data.sent_by_user is not None
    assert result.event.data.sent_by_user.email == "sam@vendor.example"
    conversation = ConversationEvent.model_validate(
        {"tenantId": "T01ACME", "event": "conversation_created", "data": {"id": CONV}}
    )
    done = await enrich(conversation, target=acme, lookup=lookup)
    assert isinstance(done.event, ConversationEvent) and done.unresolved == ()
    data = done.event.data
    assert data.submitter_user is not None and data.submitter_user.email == "jane@customer.example"
    assert data.initial_message is not None and data.initial_message.timestamp is not None
    # One users/list for the agent (then cached), one conversation read.
    assert unthread_sandbox.stats("T01ACME")["byRoute"] == {
        "POST /api/users/list": 1,
        "GET /api/conversations/{id}": 1,
    }


async def test_list_conversations_and_messages_page_through(
    client: UnthreadClient, acme: UnthreadTarget, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    for n in range(5):
        unthread_sandbox.add_conversation(
            "T01ACME", id=f"c{n}", status="open", createdAt=f"2026-12-0{n + 1}T00:00:00Z"
        )
    unthread_sandbox.post_message("T01ACME", "c3", id="m1", ts="1.000001", text="a")
    unthread_sandbox.post_message("T01ACME", "c3", id="m2", ts="2.000001", text="b")
    since = Condition(field="createdAt", operator=">", value="2026-12-02T12:00:00Z")
    query = ListQuery(where=[since], order=["createdAt", "id"], limit=2)
    ids: list[str] = []
    while True:
        page = await client.list_conversations(acme, query)
        ids += [c.id for c in page.data]
        if not page.cursors.next:
            break
        query = query.next_page(page.cursors.next)
    assert ids == ["c2", "c3", "c4"]
    messages = await client.list_messages(acme, "c3", ListQuery())
    assert [(m.id, m.text) for m in messages.data] == [("m1", "a"), ("m2", "b")]
    with pytest.raises(UnthreadNotFound):
        await client.list_messages(acme, "nope", ListQuery())
