"""The real client (aiohttp pool and all) against the Unthread sandbox as a real server:
both sides agree on the wire format, auth and throttling."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fixtures.unthread_sandbox import UnthreadSandboxHandle, unthread_sandbox, unthread_server
from unthread import (
    UnthreadAuthError,
    UnthreadClient,
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
