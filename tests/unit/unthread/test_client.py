"""The Unthread client against in-memory handlers: what it sends, reads, retries and raises."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import httpx
import pytest

import unthread
from tests.unit.vitally.fakes import Handler, RecordedSleep, scripted
from unthread import (
    UnthreadAuthError,
    UnthreadClient,
    UnthreadRateLimited,
    UnthreadRejected,
    UnthreadRequestError,
    UnthreadResponseError,
    UnthreadServerError,
    UnthreadTarget,
    UnthreadThrottled,
)
from vitally import RetryPolicy, TenantRateLimiter

ACME = UnthreadTarget.for_tenant("T01ACME", "acme-key", "https://unthread.test/api/")
GLOBEX = UnthreadTarget.for_tenant("T02GLOBEX", "globex-key", "https://unthread.test/api")
JANE = {"id": "u-jane", "name": "Jane", "email": "jane@customer.example", "slackId": "U1"}


def make_client(
    handler: Handler,
    *,
    retry: RetryPolicy | None = None,
    limiter: TenantRateLimiter | None = None,
    sleep: RecordedSleep | None = None,
    max_budget_wait: float | None = None,
) -> UnthreadClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return UnthreadClient(
        http,
        retry=retry or RetryPolicy(max_attempts=3, jitter=0.0),
        limiter=limiter,
        sleep=sleep or RecordedSleep(),
        max_budget_wait=max_budget_wait,
    )


def page(*users: Mapping[str, object]) -> httpx.Response:
    body = {"data": list(users), "totalCount": len(users), "cursors": {"hasNext": False}}
    return httpx.Response(200, json=body)


async def test_user_by_slack_id_sends_the_documented_list_query() -> None:
    seen, handler = scripted(page(JANE))
    user = await make_client(handler).get_user_by_slack_id(ACME, "U1")
    assert user is not None and user.email == "jane@customer.example" and user.slack_id == "U1"
    request = seen[0]
    assert (request.method, str(request.url)) == ("POST", "https://unthread.test/api/users/list")
    assert request.headers["X-Api-Key"] == "acme-key"
    assert json.loads(request.content) == {
        "where": [{"field": "slackId", "operator": "==", "value": "U1"}],
        "limit": 2,
    }


async def test_user_by_id_and_not_found() -> None:
    seen, handler = scripted(page(JANE), page())
    client = make_client(handler)
    assert (await client.get_user_by_id(ACME, "u-jane")) is not None
    assert (await client.get_user_by_id(ACME, "u-zed")) is None
    assert json.loads(seen[1].content)["where"][0] == {
        "field": "id",
        "operator": "==",
        "value": "u-zed",
    }


async def test_a_server_ignoring_where_cannot_hand_us_someone_else() -> None:
    _, handler = scripted(page({"id": "u-bob", "slackId": "U2"}))
    assert (await make_client(handler).get_user_by_slack_id(ACME, "U1")) is None


async def test_get_conversation_reads_the_rest_object_and_404_is_none() -> None:
    body = {
        "id": "c-1",
        "title": "CSV",
        "status": "open",
        "createdAt": 1748707942332,
        "submitterUser": {"id": "u-jane", "email": "jane@customer.example"},
        "initialMessage": {"id": "m-1", "content": "Hi", "ts": "1748707942.332879"},
    }
    seen, handler = scripted(httpx.Response(200, json=body), httpx.Response(404, json={}))
    client = make_client(handler)
    conversation = await client.get_conversation(ACME, "c/1")
    assert conversation is not None and conversation.initial_message is not None
    assert conversation.initial_message.text == "Hi"
    assert conversation.submitter_user is not None
    assert seen[0].url.raw_path == b"/api/conversations/c%2F1"
    assert await client.get_conversation(ACME, "c-2") is None


async def test_each_tenant_sends_its_own_key() -> None:
    seen, handler = scripted(page(), page())
    client = make_client(handler)
    await client.validate_key(ACME)
    await client.validate_key(GLOBEX)
    assert [r.headers["X-Api-Key"] for r in seen] == ["acme-key", "globex-key"]
    assert json.loads(seen[0].content) == {"where": [], "limit": 1}


@pytest.mark.parametrize(
    ("status", "cls", "reason"),
    [
        (401, UnthreadAuthError, "unthread_auth_failed"),
        (403, UnthreadAuthError, "unthread_auth_failed"),
        (400, UnthreadRejected, "unthread_rejected"),
    ],
)
async def test_refusals_are_not_retried(
    status: int, cls: type[unthread.UnthreadStatusError], reason: str
) -> None:
    seen, handler = scripted(httpx.Response(status, json={"error": "acme-key is bad"}))
    with pytest.raises(cls) as caught:
        await make_client(handler).validate_key(ACME)
    assert caught.value.reason == reason and not caught.value.transient
    assert len(seen) == 1
    assert "acme-key" not in caught.value.body_excerpt


async def test_forbidden_is_told_apart() -> None:
    _, handler = scripted(httpx.Response(403))
    with pytest.raises(UnthreadAuthError) as caught:
        await make_client(handler).validate_key(ACME)
    assert caught.value.forbidden


async def test_5xx_and_timeouts_are_retried_with_backoff() -> None:
    sleep = RecordedSleep()
    _, handler = scripted(
        httpx.Response(502), httpx.ReadTimeout("slow"), page(JANE)
    )  # fmt: skip
    user = await make_client(handler, sleep=sleep).get_user_by_id(ACME, "u-jane")
    assert user is not None and sleep.calls == [0.5, 1.0]


async def test_transient_failures_end_as_unthread_unavailable() -> None:
    _, handler = scripted(httpx.Response(503), httpx.Response(503), httpx.ConnectError("down"))
    with pytest.raises(UnthreadRequestError) as caught:
        await make_client(handler).get_conversation(ACME, "c-1")
    assert caught.value.reason == "unthread_unavailable" and caught.value.transient
    _, handler = scripted(*[httpx.Response(500)] * 3)
    with pytest.raises(UnthreadServerError) as server:
        await make_client(handler).get_conversation(ACME, "c-1")
    assert server.value.reason == "unthread_unavailable"


async def test_429_waits_retry_after_then_succeeds() -> None:
    sleep = RecordedSleep()
    _, handler = scripted(httpx.Response(429, headers={"Retry-After": "3"}), page())
    await make_client(handler, sleep=sleep).validate_key(ACME)
    assert sleep.calls == [3.0]


async def test_429_advice_longer_than_the_policy_allows_is_raised() -> None:
    _, handler = scripted(httpx.Response(429, headers={"Retry-After": "120"}))
    with pytest.raises(UnthreadRateLimited) as caught:
        await make_client(handler).validate_key(ACME)
    assert caught.value.retry_after == 120.0 and caught.value.reason == "unthread_rate_limited"


async def test_a_429_parks_the_tenant_in_the_limiter() -> None:
    limiter = TenantRateLimiter(default_limit=300)
    _, handler = scripted(httpx.Response(429, headers={"Retry-After": "30"}))
    client = make_client(handler, limiter=limiter, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(UnthreadRateLimited):
        await client.validate_key(ACME)
    with pytest.raises(UnthreadThrottled) as caught:
        await make_client(handler, limiter=limiter, max_budget_wait=1.0).validate_key(ACME)
    assert caught.value.retry_after is not None and caught.value.retry_after > 25
    snapshot = limiter.snapshot("T02GLOBEX")
    assert snapshot is None  # the other tenant was never touched


async def test_unreadable_2xx() -> None:
    _, handler = scripted(httpx.Response(200, content=b"<html>"))
    with pytest.raises(UnthreadResponseError) as caught:
        await make_client(handler).get_conversation(ACME, "c-1")
    assert caught.value.reason == "unthread_bad_response"


async def test_redirects_are_not_followed() -> None:
    _, handler = scripted(httpx.Response(302, headers={"Location": "https://evil.test/"}))
    with pytest.raises(unthread.UnthreadStatusError) as caught:
        await make_client(handler).validate_key(ACME)
    assert caught.value.reason == "unthread_unexpected_status"


async def test_logs_never_carry_the_key_or_ids(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="unthread")
    _, handler = scripted(httpx.Response(503), page(JANE))
    await make_client(handler).get_user_by_slack_id(ACME, "U1")
    text = " ".join(
        [r.getMessage() for r in caplog.records] + [str(r.__dict__) for r in caplog.records]
    )
    assert "unthread retry POST /users/list" in text
    assert "acme-key" not in text and "jane@" not in text


def test_target() -> None:
    assert "acme-key" not in repr(ACME)
    assert ACME.base_url == "https://unthread.test/api"
    default = UnthreadTarget.for_tenant("T", " k ")
    assert default.base_url == "https://api.unthread.io/api" and default.api_key == "k"
    assert default.account_key != UnthreadTarget.for_tenant("T", "other").account_key
    with pytest.raises(ValueError):
        UnthreadTarget.for_tenant("T", "  ")


def test_exports() -> None:
    assert unthread.__all__ == sorted(unthread.__all__)
    for name in unthread.__all__:
        assert hasattr(unthread, name)
