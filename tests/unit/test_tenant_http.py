"""The tenant HTTP API in process: Faust's aiohttp app (never started) behind the guard, the
real Vitally client against the in-process sandbox, an in-memory publisher.

Vitally is reached without VITALLY_BASE_URL here, so every request's host is recorded and the
tests can assert which host a subdomain leads to, and that hostile ones lead nowhere.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import faust
import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from faust.web.drivers.aiohttp import Web as AiohttpWeb
from vitally_sandbox import ManualClock, create_app

from integrations.api import SaveFailed, TenantApi
from integrations.kafka_config import KafkaSettings
from integrations.secrets import SecretBox
from integrations.store import IntegrationStore
from schemas.audit_reasons import GUIDE
from schemas.integration import IntegrationRecord
from streams.web.tenants import serve_tenant_api
from tests.fixtures.hostile import HOSTILE_SUBDOMAINS
from tests.unit.ops_records import T0, audit_json
from tests.unit.summary_pipe import SummaryPipe
from vitally import RetryPolicy, VitallyClient

TOKEN = "admin-token-0123456789abcdef"
PATH = "/tenants/T01ACME/integrations/vitally"
SECRET = "acme-secret-token"
BASIC = base64.b64encode(f"{SECRET}:".encode()).decode()
MAX_BODY = 4096
SEED: dict[str, Any] = {
    "orgs": [
        {
            "subdomain": "acme",
            "tokens": [SECRET, {"token": "users-only", "scopes": ["users"]},
                       {"token": "no-conversations", "scopes": ["users", "admins"]}],
            "users": [{"email": "jane@customer.example"}],
            "admins": [
                {"email": "ops@vendor.example", "licenseStatus": "active"},
                {"email": "gone@vendor.example", "licenseStatus": "deactivated"},
            ],
        }
    ]
}  # fmt: skip
GOOD = {"subdomain": "acme", "apiKey": BASIC, "defaultAdminEmail": "ops@vendor.example"}


class RecordingTransport(httpx.AsyncBaseTransport):
    """The sandbox, noting the host of every request first."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.hosts: list[str] = []
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


@dataclass
class Harness:
    client: TestClient[Any, Any]
    store: IntegrationStore
    counts: SummaryPipe
    vitally: RecordingTransport
    published: list[IntegrationRecord] = field(default_factory=list)
    fail_publish: bool = False

    async def call(
        self, method: str, path: str = PATH, *, token: str | None = TOKEN, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.client.request(method, path, headers=headers, **kwargs)
        return response.status, await response.json()

    async def put(self, body: Any, path: str = PATH) -> tuple[int, dict[str, Any]]:
        return await self.call("PUT", path, json=body)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    box = SecretBox(Fernet.generate_key().decode())
    store = IntegrationStore(
        kafka=KafkaSettings(kafka_bootstrap_servers="unused:9092"), topic="integrations", box=box,
        base_url_override=None,
    )  # fmt: skip
    store.ready.set()
    counts = SummaryPipe()
    sandbox = httpx.ASGITransport(app=create_app(seed=SEED, clock=ManualClock()))
    recording = RecordingTransport(sandbox)
    published: list[IntegrationRecord] = []
    state: dict[str, Harness] = {}

    async def publish(record: IntegrationRecord) -> None:
        if state["h"].fail_publish:
            raise SaveFailed("KafkaTimeoutError")
        published.append(record)

    app = faust.App("tenant-http-test", broker="kafka://unused:9092", autodiscover=False)
    async with httpx.AsyncClient(transport=recording) as http:
        api = TenantApi(
            integrations=store, counts=counts.reader, box=box, publish=publish,
            base_url_override=None,
            probe=VitallyClient(http, retry=RetryPolicy(max_attempts=1)),
        )  # fmt: skip
        serve_tenant_api(app, api, admin_token=TOKEN, max_body=MAX_BODY)
        web = app.web
        assert isinstance(web, AiohttpWeb)
        async with TestClient(TestServer(web.web_app)) as client:
            state["h"] = Harness(client, store, counts, recording, published)
            yield state["h"]


# --- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}",
     f"Token {TOKEN}", "Bearer é", f"Bearer  {TOKEN.upper()}"],
)  # fmt: skip
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_every_method_needs_the_bearer_token(
    harness: Harness, method: str, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    status, body = await harness.call(method, token=None, headers=headers, json=GOOD)
    assert (status, body["error"]) == (401, "unauthorized")
    assert "ADMIN_API_TOKEN" in body["message"]
    assert harness.vitally.hosts == [] and harness.published == []


async def test_unknown_paths_need_the_token_too_and_answer_json(harness: Harness) -> None:
    assert (await harness.call("GET", "/table/", token=None))[0] == 401
    status, body = await harness.call("GET", "/nowhere")
    assert (status, body["error"]) == (404, "not_found")
    status, body = await harness.call("PATCH", json=GOOD)
    assert (status, body["error"]) == (405, "method_not_allowed")


async def test_scheme_is_case_insensitive(harness: Harness) -> None:
    status, _ = await harness.call("GET", token=None, headers={"Authorization": f"bearer {TOKEN}"})
    assert status == 404  # authenticated; the tenant is just not connected


# --- connect, show, disconnect -------------------------------------------------------------


@pytest.mark.parametrize(
    "subdomain", ["acme", "ACME", " acme ", "acme.rest.vitally.io", "https://acme.rest.vitally.io/",
                  "HTTPS://Acme.Rest.Vitally.IO"],
)  # fmt: skip
async def test_put_normalises_the_subdomain_and_calls_only_its_host(
    harness: Harness, subdomain: str
) -> None:
    status, body = await harness.put({**GOOD, "subdomain": subdomain})
    assert status == 200, body
    assert body["subdomain"] == "acme" and body["status"] == "connected"
    assert set(harness.vitally.hosts) == {"acme.rest.vitally.io"}


@pytest.mark.parametrize("api_key", [BASIC, f"Basic {BASIC}", f"  basic {BASIC}\n", SECRET])
async def test_put_accepts_every_form_of_the_key_and_never_shows_it(
    harness: Harness, api_key: str
) -> None:
    status, body = await harness.put({**GOOD, "apiKey": api_key})
    assert status == 200, body
    text = json.dumps(body)
    assert SECRET not in text and BASIC not in text and "apiKey" not in text
    assert body["keyFingerprint"].startswith("sha256:") and len(body["keyFingerprint"]) <= 20
    [saved] = harness.published
    assert SECRET not in saved.to_json().decode() and BASIC not in saved.to_json().decode()


async def test_get_delete_round_trip(harness: Harness) -> None:
    assert (await harness.call("GET"))[1]["error"] == "not_connected"
    assert (await harness.call("DELETE"))[0] == 404
    _, put = await harness.put(GOOD)
    status, got = await harness.call("GET")
    assert status == 200
    for name in ("connectedAt", "keyFingerprint", "subdomain", "defaultAdminEmail"):
        assert got[name] == put[name]
    assert got["syncCounts"]["total"] == 0
    assert got["recentFailures"] == [] and got["parked"]["count"] == 0
    status, gone = await harness.call("DELETE")
    assert (status, gone["status"]) == (200, "disconnected")
    assert (await harness.call("GET"))[1]["status"] == "disconnected"
    assert (await harness.call("DELETE"))[0] == 200  # idempotent, nothing new published
    assert [r.status for r in harness.published] == ["connected", "disconnected"]


async def test_reconnect_keeps_connected_at_and_a_new_connection_starts_anew(
    harness: Harness,
) -> None:
    _, first = await harness.put(GOOD)
    _, second = await harness.put({**GOOD, "apiKey": SECRET, "region": "us"})
    assert second["connectedAt"] == first["connectedAt"]
    await harness.call("DELETE")
    await asyncio.sleep(0.01)
    _, third = await harness.put(GOOD)
    assert third["connectedAt"] > first["connectedAt"]


async def test_optional_settings_are_shown_kept_when_left_out_and_cleared_by_null(
    harness: Harness,
) -> None:
    _, plain = await harness.put(GOOD)
    assert (plain["backfillSince"], plain["onConversationDeleted"]) == (None, "keep")
    options = {"backfillSince": "2026-01-01T00:00:00+01:00", "onConversationDeleted": "delete"}
    _, set_ = await harness.put({**GOOD, **options})
    assert (set_["backfillSince"], set_["onConversationDeleted"]) == (
        "2025-12-31T23:00:00Z",
        "delete",
    )
    _, kept = await harness.put(GOOD)
    assert (kept["backfillSince"], kept["onConversationDeleted"]) == (
        "2025-12-31T23:00:00Z",
        "delete",
    )
    _, got = await harness.call("GET")
    assert (got["backfillSince"], got["onConversationDeleted"]) == (
        "2025-12-31T23:00:00Z",
        "delete",
    )
    tenant = harness.store.tenant("T01ACME")
    assert tenant is not None and tenant.on_conversation_deleted == "delete"
    assert tenant.backfill_since is not None and tenant.backfill_since.isoformat() == (
        "2025-12-31T23:00:00+00:00"
    )
    _, one_cleared = await harness.put({**GOOD, "backfillSince": None})
    assert (one_cleared["backfillSince"], one_cleared["onConversationDeleted"]) == (None, "delete")
    _, cleared = await harness.put({**GOOD, "onConversationDeleted": None})
    assert cleared["onConversationDeleted"] == "keep"
    tenant = harness.store.tenant("T01ACME")
    assert tenant is not None and tenant.backfill_since is None
    assert tenant.on_conversation_deleted == "keep"


async def test_the_link_back_to_unthread_is_a_setting_with_a_default(harness: Harness) -> None:
    _, plain = await harness.put(GOOD)
    assert plain["unthreadUrlTemplate"] is None
    tenant = harness.store.tenant("T01ACME")
    assert tenant is not None
    assert tenant.unthread_url("c1", None) == "https://app.unthread.io/dashboard/conversations/c1"
    own = "https://acme.unthread.example/t/{friendlyId}"
    _, set_ = await harness.put({**GOOD, "unthreadUrlTemplate": own})
    _, kept = await harness.put(GOOD)
    assert set_["unthreadUrlTemplate"] == kept["unthreadUrlTemplate"] == own
    tenant = harness.store.tenant("T01ACME")
    assert (
        tenant is not None and tenant.unthread_url("c1", 7) == "https://acme.unthread.example/t/7"
    )
    _, cleared = await harness.put({**GOOD, "unthreadUrlTemplate": None})
    assert cleared["unthreadUrlTemplate"] is None


@pytest.mark.parametrize(
    ("change", "code", "hint"),
    [
        ({"backfillSince": "last tuesday"}, "invalid_backfill_since", "ISO 8601"),
        ({"backfillSince": ""}, "invalid_backfill_since", "ISO 8601"),
        ({"backfillSince": 1767225600}, "invalid_backfill_since", "string"),
        ({"onConversationDeleted": "archive"}, "invalid_on_conversation_deleted", "delete"),
        ({"onConversationDeleted": True}, "invalid_on_conversation_deleted", "string"),
        ({"unthreadUrlTemplate": "https://u.example/t"}, "invalid_unthread_url_template", "{"),
        ({"unthreadUrlTemplate": "data:{friendlyId}"}, "invalid_unthread_url_template", "http"),
        ({"unthreadUrlTemplate": 7}, "invalid_unthread_url_template", "string"),
        (
            {"onVitallyConversationMissing": "restore"},
            "invalid_on_vitally_conversation_missing",
            "recreate",
        ),
        ({"onVitallyConversationMissing": 1}, "invalid_on_vitally_conversation_missing", "string"),
        ({"syncMessageEdits": "yes"}, "invalid_sync_message_edits", "bool"),
        ({"syncMessageDeletions": 1}, "invalid_sync_message_deletions", "bool"),
    ],
)
async def test_invalid_settings_are_refused_before_vitally_is_asked(
    harness: Harness, change: dict[str, object], code: str, hint: str
) -> None:
    status, body = await harness.put({**GOOD, **change})
    assert (status, body["error"]) == (422, code)
    assert hint in body["message"]
    assert harness.vitally.hosts == [] and harness.published == []


async def test_a_record_saved_before_the_settings_existed_reads_with_the_defaults(
    harness: Harness,
) -> None:
    _, put = await harness.put(GOOD)
    saved = json.loads(harness.published[-1].to_json())
    del saved["backfillSince"], saved["onConversationDeleted"]
    del saved["onVitallyConversationMissing"]
    old = IntegrationRecord.from_json(json.dumps(saved).encode())
    assert (old.backfill_since, old.on_conversation_deleted) == (None, "keep")
    assert old.on_vitally_conversation_missing == "skip"


async def test_the_recreate_setting_is_saved_kept_and_reaches_the_tenant(
    harness: Harness,
) -> None:
    _, plain = await harness.put(GOOD)
    assert plain["onVitallyConversationMissing"] == "skip"
    _, chosen = await harness.put({**GOOD, "onVitallyConversationMissing": " Recreate "})
    assert chosen["onVitallyConversationMissing"] == "recreate"
    _, kept = await harness.put(GOOD)
    assert kept["onVitallyConversationMissing"] == "recreate"
    tenant = harness.store.tenant("T01ACME")
    assert tenant is not None and tenant.on_vitally_conversation_missing == "recreate"
    _, cleared = await harness.put({**GOOD, "onVitallyConversationMissing": None})
    assert cleared["onVitallyConversationMissing"] == "skip"


async def test_the_edit_and_deletion_settings_are_off_by_default_kept_and_reach_the_tenant(
    harness: Harness,
) -> None:
    _, plain = await harness.put(GOOD)
    assert (plain["syncMessageEdits"], plain["syncMessageDeletions"]) == (False, False)
    _, chosen = await harness.put({**GOOD, "syncMessageEdits": True, "syncMessageDeletions": True})
    assert (chosen["syncMessageEdits"], chosen["syncMessageDeletions"]) == (True, True)
    _, kept = await harness.put({**GOOD, "syncMessageDeletions": False})
    assert (kept["syncMessageEdits"], kept["syncMessageDeletions"]) == (True, False)
    tenant = harness.store.tenant("T01ACME")
    assert tenant is not None and tenant.sync_message_edits and not tenant.sync_message_deletions
    _, cleared = await harness.put({**GOOD, "syncMessageEdits": None})
    assert cleared["syncMessageEdits"] is False
    saved = json.loads(harness.published[-1].to_json())
    del saved["syncMessageEdits"], saved["syncMessageDeletions"]
    old = IntegrationRecord.from_json(json.dumps(saved).encode())
    assert (old.sync_message_edits, old.sync_message_deletions) == (False, False)


async def test_get_shows_sync_counts_by_outcome_and_reason(harness: Harness) -> None:
    await harness.put(GOOD)
    await harness.counts.add(
        audit_json(outcome="synced", offset=1), audit_json(outcome="synced", offset=2),
        audit_json(outcome="skipped", reason="private_note", offset=3),
        audit_json(tenant="T02OTHER", outcome="skipped", reason="private_note", offset=4),
    )  # fmt: skip
    _, body = await harness.call("GET")
    assert body["syncCounts"] == {
        "total": 3, "byOutcome": {"synced": 2, "skipped": 1},
        "byReason": {"private_note": 1}, "since": "2025-11-25T10:00:00+00:00", "complete": False,
    }  # fmt: skip


async def test_get_shows_recent_failures_and_parked_events(harness: Harness) -> None:
    await harness.put(GOOD)
    for record in [
        audit_json(outcome="parked", reason="vitally_unavailable", offset=1),
        audit_json(conversation="c-2", outcome="parked", reason="customer_not_in_vitally",
                   detail="jane@customer.example", event="message_created", message="m-2",
                   offset=2, at=T0 + 1000),
        audit_json(outcome="synced", offset=1, at=T0 + 2000),  # the first one resolved
        audit_json(conversation="c-3", outcome="failed", reason="vitally_rejected", offset=3,
                   detail="vitally_bad_request POST /resources/conversations", at=T0 + 3000),
        audit_json(tenant="T02OTHER", outcome="failed", reason="internal_error", offset=4),
    ]:  # fmt: skip
        await harness.counts.add(record)
    status, body = await harness.call("GET")
    assert status == 200
    [failure] = body["recentFailures"]
    assert failure == {
        "outcome": "failed", "reason": "vitally_rejected",
        "detail": "vitally_bad_request POST /resources/conversations",
        "fix": GUIDE["vitally_rejected"].fix, "conversationId": "c-3", "messageId": None,
        "event": "conversation_created", "source": {"topic": "in", "partition": 0, "offset": 3},
        "processedAt": "2025-11-25T10:00:03+00:00",
    }  # fmt: skip
    assert body["parked"]["count"] == 1 and body["parked"]["truncated"] is False
    [waiting] = body["parked"]["events"]
    assert (waiting["conversationId"], waiting["messageId"], waiting["reason"]) == (
        "c-2", "m-2", "customer_not_in_vitally",
    )  # fmt: skip
    assert "recheck" in waiting["fix"]
    assert body["syncCounts"]["byOutcome"] == {"parked": 2, "synced": 1, "failed": 1}


# --- validation errors ---------------------------------------------------------------------


@pytest.mark.parametrize("subdomain", HOSTILE_SUBDOMAINS)
async def test_hostile_subdomains_are_refused_before_any_request(
    harness: Harness, subdomain: str
) -> None:
    status, body = await harness.put({**GOOD, "subdomain": subdomain})
    assert (status, body["error"]) == (422, "invalid_subdomain")
    assert harness.vitally.hosts == [] and harness.published == []


@pytest.mark.parametrize(
    ("change", "code", "hint"),
    [
        ({"apiKey": "wrong-secret"}, "invalid_api_key", "Basic"),
        ({"apiKey": ""}, "invalid_api_key", "API key"),
        ({"apiKey": "Basic "}, "invalid_api_key", "API key"),
        ({"apiKey": "users-only"}, "insufficient_permissions", "admins"),
        ({"apiKey": "no-conversations"}, "insufficient_permissions", "conversations"),
        ({"defaultAdminEmail": "nobody@vendor.example"}, "default_admin_not_found", "nobody@"),
        ({"defaultAdminEmail": "gone@vendor.example"}, "default_admin_inactive", "active"),
        ({"defaultAdminEmail": "not-an-email"}, "invalid_default_admin_email", "email"),
        ({"region": "mars"}, "invalid_region", "eu"),
    ],
)
async def test_validation_errors_say_what_to_fix(
    harness: Harness, change: dict[str, str], code: str, hint: str
) -> None:
    status, body = await harness.put({**GOOD, **change})
    assert (status, body["error"]) == (422, code)
    assert hint in body["message"]
    assert harness.published == [] and harness.store.record("T01ACME") is None


async def test_unreachable_vitally_is_not_a_bad_key(harness: Harness) -> None:
    harness.vitally.down = True
    status, body = await harness.put(GOOD)
    assert (status, body["error"]) == (422, "vitally_unreachable")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"", 400, "invalid_json"),
        (b"{not json", 400, "invalid_json"),
        (b"\xff\xfe\x00garbage", 400, "invalid_json"),
        (b"[" * 2000 + b"]" * 2000, 400, "invalid_json"),  # nested past the parser
        (b"[]", 422, "invalid_request"),
        (b'"acme"', 422, "invalid_request"),
        (b"null", 422, "invalid_request"),
        (b'{"apiKey": "x", "defaultAdminEmail": "ops@vendor.example"}', 422, "invalid_subdomain"),
        (b'{"subdomain": "acme", "defaultAdminEmail": "ops@vendor.example"}', 422,
         "invalid_api_key"),
        (b'{"subdomain": "acme", "apiKey": "x"}', 422, "invalid_default_admin_email"),
        (b'{"subdomain": 7, "apiKey": "x", "defaultAdminEmail": "a@b.c"}', 422,
         "invalid_subdomain"),
        (b'{"subdomain": "acme", "apiKey": ["x"], "defaultAdminEmail": "a@b.c"}', 422,
         "invalid_api_key"),
        (b'{"subdomain": "acme", "apiKey": "x", "defaultAdminEmail": "a@b.c", "region": 1}', 422,
         "invalid_region"),
        (json.dumps({**GOOD, "apiKey": "k" * 2000}).encode(), 422, "invalid_api_key"),
    ],
)  # fmt: skip
async def test_malformed_bodies_get_a_clear_4xx(
    harness: Harness, body: bytes, status: int, code: str
) -> None:
    got, answer = await harness.call("PUT", data=body)
    assert (got, answer["error"]) == (status, code)
    assert answer["message"]
    assert harness.vitally.hosts == []


async def test_oversized_bodies_get_413_with_or_without_a_length(harness: Harness) -> None:
    big = json.dumps({**GOOD, "padding": "x" * MAX_BODY}).encode()
    status, body = await harness.call("PUT", data=big)
    assert (status, body["error"]) == (413, "body_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to go by
        for _ in range(10):
            yield b" " * 1024

    status, body = await harness.call("PUT", data=chunks())
    assert (status, body["error"]) == (413, "body_too_large")
    assert str(MAX_BODY) in body["message"]


async def test_bad_tenant_id(harness: Harness) -> None:
    path = "/tenants/" + "T" * 201 + "/integrations/vitally"
    status, body = await harness.call("GET", path)
    assert (status, body["error"]) == (422, "invalid_request")


async def test_not_ready_until_integrations_are_loaded(harness: Harness) -> None:
    harness.store.ready.clear()
    status, body = await harness.put(GOOD)
    assert (status, body["error"]) == (503, "not_ready")


async def test_kafka_failure_saves_nothing(harness: Harness) -> None:
    harness.fail_publish = True
    status, body = await harness.put(GOOD)
    assert (status, body["error"]) == (503, "save_failed")
    assert harness.store.record("T01ACME") is None


async def test_an_unexpected_error_is_a_logged_json_500_without_the_key(
    harness: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(harness.store, "record", broken)
    with caplog.at_level(logging.INFO):
        status, body = await harness.put(GOOD)
    assert (status, body["error"]) == (500, "internal_error")
    assert "HTTP request failed" in caplog.text
    assert SECRET not in caplog.text and BASIC not in caplog.text
    assert (await harness.call("GET", "/nowhere"))[0] == 404  # still serving


# --- re-check of missing people ------------------------------------------------------------


async def test_recheck_publishes_the_request_for_every_worker(harness: Harness) -> None:
    assert (await harness.put(GOOD))[0] == 200
    status, body = await harness.call("POST", PATH + "/recheck", token=None)
    assert status == 401 and body["error"] == "unauthorized"
    status, body = await harness.call("POST", PATH + "/recheck")
    assert status == 200 and body["recheckRequestedAt"] is not None
    assert harness.published[-1].recheck_requested_at is not None
    assert harness.store.recheck_requested_at("T01ACME") is not None
    assert "apiKey" not in body and "apiKeyEncrypted" not in body


async def test_recheck_of_an_unknown_tenant_is_not_found(harness: Harness) -> None:
    status, body = await harness.call("POST", "/tenants/T404/integrations/vitally/recheck")
    assert (status, body["error"]) == (404, "not_connected")
