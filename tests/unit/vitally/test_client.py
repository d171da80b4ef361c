"""The client against in-memory Vitally handlers: what it sends, reads, retries and raises."""

import asyncio
import json
import logging
from datetime import UTC, datetime

import httpx
import pytest

from schemas.vitally import ConversationCreate, ConversationUpdate, MessageCreate, Participant
from tests.unit.vitally.fakes import ACME, GLOBEX, Handler, RecordedSleep, scripted
from vitally import (
    RetryPolicy,
    TenantRateLimiter,
    VitallyAuthError,
    VitallyClient,
    VitallyError,
    VitallyRateLimited,
    VitallyRequestError,
    VitallyResponseError,
    VitallyServerError,
    VitallyStatusError,
    VitallyTarget,
    VitallyThrottled,
    build_http_client,
    count_calls,
)

USER = Participant(type="user", id="usr_1")
ADMIN = Participant(type="admin", id="adm_1")
MESSAGE = MessageCreate(
    external_id="unthread:m_1",
    message="<p>Hi</p>",
    from_=USER,
    to=[ADMIN],
    timestamp=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
)
CONVERSATION = ConversationCreate(
    external_id="c_1", subject="CSV export fails", messages=[MESSAGE], traits={"status": "open"}
)


def make_client(
    handler: Handler,
    *,
    retry: RetryPolicy | None = None,
    limiter: TenantRateLimiter | None = None,
    sleep: RecordedSleep | None = None,
) -> VitallyClient:
    """A client over an in-memory transport; jitter off so schedules are exact."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return VitallyClient(
        http,
        retry=retry or RetryPolicy(jitter=0.0),
        limiter=limiter,
        sleep=sleep or RecordedSleep(),
    )


def ok(body: object, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def timeout(kind: type[httpx.TimeoutException] = httpx.ReadTimeout) -> Exception:
    return kind("timed out")


# --- what goes on the wire ----------------------------------------------------------------


async def test_each_call_carries_its_own_tenants_key() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.params["limit"], request.headers["Authorization"]))
        assert request.headers["Accept"] == "application/json"
        return ok({"results": []})

    client = make_client(handler)
    await asyncio.gather(client.list_users(ACME, limit=1), client.list_users(GLOBEX, limit=2))
    assert sorted(seen) == [("1", ACME.authorization), ("2", GLOBEX.authorization)]
    assert ACME.authorization != GLOBEX.authorization


async def test_find_user_url_encodes_plus_and_prefers_the_exact_email() -> None:
    seen, handler = scripted(
        ok(
            {
                "results": [
                    {"id": "usr_a", "email": "jane+test@example.com.au"},
                    {"id": "usr_b", "email": "Jane+Test@Example.com"},
                ]
            }
        )
    )
    user = await make_client(handler).find_user_by_email(ACME, "jane+test@example.com")
    assert user is not None and user.id == "usr_b"
    assert seen[0].url.path == "/resources/users/search"
    assert seen[0].url.query == b"email=jane%2Btest%40example.com"


async def test_find_user_never_takes_someone_else_and_none_when_empty() -> None:
    _, handler = scripted(
        # A loose match is someone else: never the sender.
        ok({"results": [{"id": "usr_a", "email": "other@x.io"}, {"id": "usr_b"}]}),
        # A lone result that shows no email is the search's answer.
        ok({"results": [{"id": "usr_c"}]}),
        ok({"results": []}),
        httpx.Response(404),
    )
    client = make_client(handler)
    assert await client.find_user_by_email(ACME, "jane@x.io") is None
    lone = await client.find_user_by_email(ACME, "jane@x.io")
    assert lone is not None and lone.id == "usr_c"
    assert await client.find_user_by_email(ACME, "jane@x.io") is None
    assert await client.find_user_by_email(ACME, "jane@x.io") is None


@pytest.mark.parametrize(
    ("reply", "expected_id"),
    [
        (ok({"id": "adm_1", "email": "ops@vendor.example", "licenseStatus": "active"}), "adm_1"),
        (ok({"results": [{"id": "adm_2", "email": "OPS@vendor.example"}]}), "adm_2"),
        (ok({"results": []}), None),
        (ok({}), None),
        (httpx.Response(404, json={"error": "not found"}), None),
    ],
)
async def test_find_admin_reads_either_shape_and_404_is_none(
    reply: httpx.Response, expected_id: str | None
) -> None:
    seen, handler = scripted(reply)
    admin = await make_client(handler).find_admin_by_email(ACME, "ops@vendor.example")
    assert (admin.id if admin else None) == expected_id
    assert seen[0].url.path == "/resources/admins/search"


async def test_list_conversations_pages_newest_first_by_creation() -> None:
    seen, handler = scripted(
        ok({"results": [{"id": "v3", "externalId": "c_3"}], "next": "p2"}),
        ok({"results": [{"id": "v2", "externalId": "c_2", "createdAt": "2026-12-01T10:00:00Z"}]}),
    )
    client = make_client(handler)
    first = await client.list_conversations(ACME)
    second = await client.list_conversations(ACME, cursor=first.next)
    assert [c.external_id for c in first.results + second.results] == ["c_3", "c_2"]
    assert second.results[0].created_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert second.next is None
    assert [dict(r.url.params) for r in seen] == [
        {"limit": "100", "sortBy": "createdAt"},
        {"limit": "100", "sortBy": "createdAt", "from": "p2"},
    ]


async def test_get_conversation_quotes_the_id_and_reads_messages() -> None:
    seen, handler = scripted(
        ok({"id": "v/1", "externalId": "c_1", "messages": [{"id": "vm1", "externalId": "m_1"}]}),
        httpx.Response(404),
    )
    client = make_client(handler)
    conversation = await client.get_conversation(ACME, "v/1")
    assert conversation is not None and [m.external_id for m in conversation.messages] == ["m_1"]
    assert seen[0].url.raw_path == b"/resources/conversations/v%2F1"
    assert await client.get_conversation(ACME, "gone") is None


async def test_create_conversation_posts_camel_case_json() -> None:
    seen, handler = scripted(ok({"id": "v1", "externalId": "c_1", "subject": "x"}, 201))
    created = await make_client(handler).create_conversation(ACME, CONVERSATION)
    assert created.id == "v1"
    request = seen[0]
    assert (request.method, request.url.path) == ("POST", "/resources/conversations")
    assert json.loads(request.content) == {
        "externalId": "c_1",
        "subject": "CSV export fails",
        "messages": [
            {
                "externalId": "unthread:m_1",
                "message": "<p>Hi</p>",
                "from": {"type": "user", "id": "usr_1"},
                "to": [{"type": "admin", "id": "adm_1"}],
                "timestamp": "2026-11-25T10:00:00.000Z",
            }
        ],
        "traits": {"status": "open"},
    }


async def test_add_message_posts_to_the_conversation() -> None:
    seen, handler = scripted(ok({"id": "vm1", "externalId": "unthread:m_1", "type": "inbound"}))
    message = await make_client(handler).add_message(ACME, "v1", MESSAGE)
    assert (message.id, message.type) == ("vm1", "inbound")
    assert seen[0].url.path == "/resources/conversations/v1/messages"
    assert json.loads(seen[0].content)["externalId"] == "unthread:m_1"


async def test_update_conversation_puts_only_what_is_set_and_keeps_null_traits() -> None:
    seen, handler = scripted(ok({"id": "v/1"}))
    change = ConversationUpdate(traits={"unthreadStatus": "closed", "unthreadAssigneeName": None})
    await make_client(handler).update_conversation(ACME, "v/1", change)
    request = seen[0]
    assert (request.method, request.url.raw_path) == ("PUT", b"/resources/conversations/v%2F1")
    assert request.headers["Authorization"] == ACME.authorization
    assert json.loads(request.content) == {
        "traits": {"unthreadStatus": "closed", "unthreadAssigneeName": None}
    }


async def test_update_conversation_sends_a_subject_alone() -> None:
    seen, handler = scripted(httpx.Response(204))
    await make_client(handler).update_conversation(ACME, "v1", ConversationUpdate(subject="New"))
    assert json.loads(seen[0].content) == {"subject": "New"}


async def test_update_that_times_out_is_retried_for_a_put_is_idempotent() -> None:
    seen, handler = scripted(timeout(), ok({"id": "v1"}))
    await make_client(handler).update_conversation(ACME, "v1", ConversationUpdate(subject="x"))
    assert len(seen) == 2


async def test_update_of_a_conversation_vitally_no_longer_has_raises_not_found() -> None:
    _, handler = scripted(httpx.Response(404, json={"error": "Not found"}))
    with pytest.raises(VitallyStatusError) as caught:
        await make_client(handler).update_conversation(ACME, "v1", ConversationUpdate(subject="x"))
    assert caught.value.reason == "vitally_not_found"


async def test_delete_conversation_is_true_then_false_once_gone() -> None:
    seen, handler = scripted(httpx.Response(204), httpx.Response(404, json={"error": "x"}))
    client = make_client(handler)
    assert await client.delete_conversation(ACME, "v1") is True
    assert await client.delete_conversation(ACME, "v1") is False
    assert [(r.method, r.url.path) for r in seen] == [("DELETE", "/resources/conversations/v1")] * 2


async def test_an_eu_tenant_calls_the_shared_eu_host_with_its_basic_key() -> None:
    eu = VitallyTarget.for_tenant("T03EU", "acme-eu", "eu", "eu-secret")
    seen, handler = scripted(ok({"results": []}), ok({"id": "v1"}))
    client = make_client(handler)
    await client.list_users(eu)
    await client.update_conversation(eu, "v1", ConversationUpdate(subject="x"))
    for request in seen:
        assert (request.url.scheme, request.url.host) == ("https", "rest.vitally-eu.io")
        # Vitally's Basic auth: the key as user name, an empty password.
        assert request.headers["Authorization"] == "Basic ZXUtc2VjcmV0Og=="
    assert [r.url.path for r in seen] == ["/resources/users", "/resources/conversations/v1"]


async def test_a_created_answer_without_id_is_maybe_applied_and_not_retried() -> None:
    seen, handler = scripted(ok({"ok": True}, 201), ok({"id": "never"}, 201))
    with pytest.raises(VitallyResponseError) as caught:
        await make_client(handler).create_conversation(ACME, CONVERSATION)
    assert caught.value.maybe_applied
    assert len(seen) == 1


# --- retries ------------------------------------------------------------------------------


async def test_get_retries_server_errors_on_the_exact_backoff_schedule() -> None:
    seen, handler = scripted(
        httpx.Response(503), httpx.Response(502), httpx.Response(500), ok({"results": []})
    )
    sleep = RecordedSleep()
    client = make_client(handler, sleep=sleep, retry=RetryPolicy(base_delay=0.5, jitter=0.0))
    assert await client.list_users(ACME) == []
    assert sleep.calls == [0.5, 1.0, 2.0]
    assert len(seen) == 4


async def test_get_gives_up_after_max_attempts() -> None:
    _, handler = scripted(*[httpx.Response(503)] * 3)
    sleep = RecordedSleep()
    client = make_client(handler, sleep=sleep, retry=RetryPolicy(max_attempts=3, jitter=0.0))
    with pytest.raises(VitallyServerError) as caught:
        await client.list_users(ACME)
    assert caught.value.status == 503 and not caught.value.maybe_applied
    assert sleep.calls == [0.5, 1.0]


async def test_get_that_times_out_is_retried() -> None:
    seen, handler = scripted(timeout(), ok({"results": [{"id": "usr_1"}]}))
    users = await make_client(handler).list_users(ACME)
    assert [u.id for u in users] == ["usr_1"]
    assert len(seen) == 2


@pytest.mark.parametrize("kind", [httpx.ReadTimeout, httpx.WriteTimeout])
async def test_post_that_times_out_is_not_retried_and_may_have_landed(
    kind: type[httpx.TimeoutException],
) -> None:
    seen, handler = scripted(timeout(kind), ok({"id": "dup"}, 201))
    sleep = RecordedSleep()
    with pytest.raises(VitallyRequestError) as caught:
        await make_client(handler, sleep=sleep).create_conversation(ACME, CONVERSATION)
    assert caught.value.maybe_applied
    assert caught.value.reason == "vitally_timeout"
    assert isinstance(caught.value.__cause__, kind)
    assert (len(seen), sleep.calls) == (1, [])


async def test_post_that_got_a_5xx_is_not_retried() -> None:
    seen, handler = scripted(httpx.Response(502), ok({"id": "dup"}, 201))
    with pytest.raises(VitallyServerError) as caught:
        await make_client(handler).add_message(ACME, "v1", MESSAGE)
    assert caught.value.maybe_applied
    assert len(seen) == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")],
)
async def test_post_that_never_left_is_retried(failure: Exception) -> None:
    seen, handler = scripted(failure, ok({"id": "v1"}, 201))
    created = await make_client(handler).create_conversation(ACME, CONVERSATION)
    assert created.id == "v1"
    assert len(seen) == 2


async def test_429_waits_what_ratelimit_reset_says_even_for_posts() -> None:
    seen, handler = scripted(
        httpx.Response(429, headers={"RateLimit-Reset": "7", "Retry-After": "2"}),
        ok({"id": "v1"}, 201),
    )
    sleep = RecordedSleep()
    client = make_client(handler, sleep=sleep)
    assert (await client.create_conversation(ACME, CONVERSATION)).id == "v1"
    assert sleep.calls == [7.0]  # server advice, not the 0.5 s backoff
    assert len(seen) == 2


async def test_429_falls_back_to_retry_after_then_backoff() -> None:
    _, handler = scripted(
        httpx.Response(429, headers={"Retry-After": "3"}),
        httpx.Response(429),
        ok({"results": []}),
    )
    sleep = RecordedSleep()
    await make_client(handler, sleep=sleep).list_users(ACME)
    assert sleep.calls == [3.0, 1.0]  # then attempt 2's exponential backoff


async def test_429_asking_for_more_than_max_delay_is_raised_for_the_stream_layer() -> None:
    seen, handler = scripted(httpx.Response(429, headers={"RateLimit-Reset": "45"}))
    client = make_client(handler, retry=RetryPolicy(max_delay=30.0, jitter=0.0))
    with pytest.raises(VitallyRateLimited) as caught:
        await client.list_users(ACME)
    assert caught.value.retry_after == 45.0
    assert len(seen) == 1


# --- errors, limiter, counting, logs ------------------------------------------------------


async def test_auth_failure_is_not_retried_and_never_echoes_the_key() -> None:
    echo = {"error": f"Authorization header {ACME.authorization} is not valid."}
    seen, handler = scripted(httpx.Response(401, json=echo))
    with pytest.raises(VitallyAuthError) as caught:
        await make_client(handler).list_users(ACME)
    error = caught.value
    assert (error.reason, error.forbidden, len(seen)) == ("vitally_auth_failed", False, 1)
    assert "is not valid" in error.body_excerpt
    assert ACME.authorization.split()[1] not in error.body_excerpt


async def test_redirects_are_not_followed() -> None:
    seen, handler = scripted(
        httpx.Response(302, headers={"Location": "https://elsewhere.example/resources/users"})
    )
    with pytest.raises(VitallyStatusError) as caught:
        await make_client(handler).list_users(ACME)
    assert caught.value.reason == "vitally_unexpected_status"
    assert [r.url.host for r in seen] == ["vitally.test"]


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("t"),
        httpx.ConnectError("c"),
        httpx.RemoteProtocolError("p"),
        httpx.ReadError("r"),
    ],
)
async def test_no_httpx_exception_escapes(failure: Exception) -> None:
    _, handler = scripted(*[failure] * 4)
    with pytest.raises(VitallyError) as caught:
        await make_client(handler).list_users(ACME)
    assert not isinstance(caught.value, httpx.HTTPError)
    assert caught.value.__cause__ is failure


async def test_the_limiter_sees_every_response_and_parks_only_that_tenant() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == ACME.authorization:
            return httpx.Response(429, headers={"RateLimit-Limit": "500", "RateLimit-Reset": "40"})
        return ok(
            {"results": []}, headers={"RateLimit-Limit": "1000", "RateLimit-Remaining": "998"}
        )

    limiter = TenantRateLimiter(clock=lambda: 0.0)
    client = make_client(handler, limiter=limiter)
    with pytest.raises(VitallyRateLimited):
        await client.list_users(ACME)  # 40 s > max_delay: raised, not waited out
    await client.list_users(GLOBEX)
    acme, globex = limiter.snapshot(ACME.tenant_id), limiter.snapshot(GLOBEX.tenant_id)
    assert acme is not None and (acme.limit, acme.blocked_until) == (500, 40.0)
    assert globex is not None and (globex.remaining, globex.blocked_until) == (998, None)


async def test_a_request_the_budget_would_hold_too_long_is_not_sent() -> None:
    """After a 429 asking for 40 s, the tenant's next requests are refused at once (not queued
    for 40 s in the limiter), with the time left, so the stream layer can park them."""
    seen, handler = scripted(ok({"results": []}))
    limiter = TenantRateLimiter(clock=lambda: 0.0)
    limiter.observe(ACME.tenant_id, {"RateLimit-Reset": "40"}, 429)
    client = VitallyClient(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        limiter=limiter,
        retry=RetryPolicy(max_delay=8.0, jitter=0.0),
        sleep=RecordedSleep(),
        max_budget_wait=8.0,
    )
    with pytest.raises(VitallyThrottled) as caught:
        await client.list_users(ACME)
    assert (caught.value.reason, caught.value.retry_after) == ("vitally_rate_limited", 40.0)
    assert caught.value.transient and not caught.value.maybe_applied
    assert seen == []
    await client.list_users(GLOBEX)  # another tenant is not held
    assert len(seen) == 1


async def test_every_http_request_is_counted_including_retries() -> None:
    _, handler = scripted(
        httpx.Response(429), timeout(), ok({"results": []}), ok({"id": "v1"}, 201)
    )
    client = make_client(handler)
    with count_calls() as event:
        await client.list_users(ACME)
        await client.create_conversation(ACME, CONVERSATION)
    assert event.value == 4


async def test_logs_name_the_endpoint_not_ids_emails_or_keys(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, handler = scripted(httpx.Response(500), ok({"results": []}), ok({"id": "secret-id"}))
    client = make_client(handler)
    with caplog.at_level(logging.DEBUG, logger="vitally"):
        await client.find_user_by_email(ACME, "jane@customer.example")
        await client.get_conversation(ACME, "secret-id")
    paths = [getattr(r, "vitally_path", None) for r in caplog.records]
    assert paths == [
        "/resources/users/search",  # the 500
        "/resources/users/search",  # the retry notice
        "/resources/users/search",
        "/resources/conversations/{id}",
    ]
    assert {getattr(r, "vitally_tenant", None) for r in caplog.records} == {"T01ACME"}
    assert [getattr(r, "vitally_status", None) for r in caplog.records] == [500, None, 200, 200]
    dumped = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in ("jane@customer.example", "secret-id", ACME.authorization.split()[1]):
        assert secret not in dumped


async def test_build_http_client_is_safe_by_default() -> None:
    http = build_http_client()
    try:
        assert http.follow_redirects is False
        timeouts = [http.timeout.connect, http.timeout.read, http.timeout.write, http.timeout.pool]
        assert all(t is not None and 0 < t <= 30 for t in timeouts)
    finally:
        await http.aclose()
    with pytest.raises(ValueError, match="timeout"):
        build_http_client(timeout=90)


async def test_a_malformed_base_url_is_a_configuration_error_not_a_vitally_error() -> None:
    # What httpx's real transport raises for "ftp://..." or a base URL without a scheme.
    seen, handler = scripted(httpx.UnsupportedProtocol("unsupported protocol 'ftp://'"))
    broken = VitallyTarget("T01ACME", "ftp://vitally.test", ACME.authorization)
    with pytest.raises(ValueError, match="base URL") as caught:
        await make_client(handler).list_users(broken)
    assert not isinstance(caught.value, VitallyError | httpx.HTTPError)
    assert len(seen) == 1  # and not retried


async def test_max_concurrent_bounds_the_requests_in_flight() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={"results": []})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = VitallyClient(http, max_concurrent=3)
    found = await asyncio.gather(
        *(client.find_user_by_email(ACME, f"u{i}@acme.example") for i in range(20))
    )
    assert found == [None] * 20
    assert peak == 3


async def test_several_users_with_one_email_are_told_apart_by_the_documented_rule() -> None:
    jane = "jane@customer.example"
    results = [
        {"id": "usr_c", "email": jane, "createdAt": "2024-03-01T00:00:00Z"},
        {
            "id": "usr_old_gone",
            "email": jane,
            "createdAt": "2023-01-01T00:00:00Z",
            "deactivatedAt": "2024-01-01T00:00:00Z",
        },  # fmt: skip
        {"id": "usr_b", "email": "Jane@Customer.example", "createdAt": "2024-02-01T00:00:00Z"},
        {"id": "usr_a", "email": jane, "createdAt": "2024-02-01T00:00:00Z"},
        {"id": "usr_other", "email": "joe@customer.example", "createdAt": "2020-01-01T00:00:00Z"},
    ]
    # Whatever order the search answers in: active first, then oldest, then lowest id.
    for answer in (results, list(reversed(results))):
        _, handler = scripted(ok({"results": answer}))
        user = await make_client(handler).find_user_by_email(ACME, jane)
        assert user is not None and (user.id, user.same_email) == ("usr_a", 4)
    _, handler = scripted(ok({"results": results[:1]}))
    lone = await make_client(handler).find_user_by_email(ACME, jane)
    assert lone is not None and lone.same_email == 1


@pytest.mark.parametrize(
    ("reply", "expected_id"),
    [
        # A single admin object is checked against the email like a list of results.
        (ok({"id": "adm_9", "email": "someone@vendor.example", "licenseStatus": "active"}), None),
        (ok({"id": "adm_3", "licenseStatus": "active"}), "adm_3"),  # shows no email: the answer
    ],
)
async def test_an_admin_result_is_checked_against_the_email(
    reply: httpx.Response, expected_id: str | None
) -> None:
    _, handler = scripted(reply)
    admin = await make_client(handler).find_admin_by_email(ACME, "ops@vendor.example")
    assert (admin.id if admin else None) == expected_id
