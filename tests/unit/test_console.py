"""The console in process: Faust's aiohttp app (never started) with the tenant API and the
console's pages, the real Vitally client against the in-process sandbox, an in-memory
publisher. The browser test (tests/e2e/test_console_browser.py) drives the same pages in
Chromium against a running worker."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import faust
import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from faust.web.drivers.aiohttp import Web as AiohttpWeb
from vitally_sandbox import ManualClock, create_app

from integrations.api import TenantApi
from integrations.kafka_config import KafkaSettings
from integrations.secrets import SecretBox
from integrations.store import IntegrationStore
from ops.dlq import Letter, Redrive, read_letters
from ops.reader import RawRecord, TopicUnreadable
from ops.trail import TrailStep
from schemas.dead_letter import Failure, Origin
from schemas.integration import IntegrationRecord
from streams.dead_letters import dead_letter_record
from streams.seam.web import add_routes
from streams.web.console.dead_letters import RedriveRun
from streams.web.console.pages import Console
from streams.web.console.session import COOKIE, SessionSigner
from streams.web.tenants import serve_tenant_api
from tests.unit.ops_records import T0, audit_json
from tests.unit.summary_pipe import SummaryPipe
from tests.unit.test_tenant_http import BASIC, SECRET, SEED
from vitally import RetryPolicy, VitallyClient

TOKEN = "admin-token-0123456789abcdef"
KAFKA = KafkaSettings(kafka_bootstrap_servers="unused:9092")
FORM = {
    "tenantId": "T01ACME",
    "subdomain": "acme",
    "apiKey": BASIC,
    "defaultAdminEmail": "ops@vendor.example",
    "region": "us",
    "onConversationDeleted": "keep",
    "backfillSince": "",
    "unthreadUrlTemplate": "",
    "unthreadApiKey": "",
}


def dead_letter(tenant: str, conversation: str, offset: int) -> Letter:
    failure = Failure("vitally_rejected", "Vitally said <b>400</b>", "sync", "VitallyRejected",
                      3, T0, T0 + 5000, tenant)  # fmt: skip
    record = dead_letter_record(conversation.encode(), b"{}", [], Origin("in", 2, 40 + offset),
                                failure, max_bytes=1_000_000)  # fmt: skip
    return next(read_letters([RawRecord(record.key, record.value, 1, offset, T0,
                                        tuple(record.headers))]))  # fmt: skip


class DeadLetterShelf:
    """The DLQ as the console sees it, in memory: what Kafka would answer (the real reader and
    Redriver run against a broker in tests/e2e/test_console_browser.py)."""

    def __init__(self) -> None:
        self.letters: list[Letter] = []
        self.executed: list[list[tuple[int, int]]] = []
        self.unreadable = False

    def recent(self, tenant_id: str) -> list[Letter]:
        if self.unreadable:
            raise TopicUnreadable("cannot reach Kafka at unused:9092")
        return [found for found in self.letters if found.tenant_id == tenant_id]

    def redrive(
        self, tenant_id: str, places: Sequence[tuple[int, int]], *, execute: bool
    ) -> RedriveRun:
        chosen = [f for f in self.recent(tenant_id) if (f.partition, f.offset) in places]
        plans = [Redrive(f, "in", 2, f.letter.key, f.letter.value) for f in chosen]
        if not execute:
            return RedriveRun(plans, None)
        self.executed.append(list(places))
        return RedriveRun(plans, {i: 100 + i for i in range(len(plans))})


@dataclass
class Browser:
    """A client that keeps cookies, as a browser would."""

    client: TestClient[Any, Any]
    counts: SummaryPipe
    published: list[IntegrationRecord]
    dlq: DeadLetterShelf

    async def sign_in(self) -> None:
        response = await self.client.post(
            "/console/sign-in", data={"token": TOKEN}, allow_redirects=False
        )
        assert response.status == 303

    async def page(self, path: str) -> tuple[int, str]:
        response = await self.client.get(path, allow_redirects=False)
        return response.status, await response.text()

    async def csrf(self, path: str) -> str:
        _, html = await self.page(path)
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
        assert found, html
        return found.group(1)

    async def post(self, path: str, form: dict[str, str], *, csrf_from: str) -> Any:
        data = {**form, "csrf": await self.csrf(csrf_from)}
        return await self.client.post(path, data=data, allow_redirects=False)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    box = SecretBox(Fernet.generate_key().decode())
    store = IntegrationStore(kafka=KAFKA, topic="integrations", box=box, base_url_override=None)
    store.ready.set()
    counts = SummaryPipe()
    published: list[IntegrationRecord] = []
    dlq = DeadLetterShelf()

    async def publish(record: IntegrationRecord) -> None:
        published.append(record)

    def trail(tenant: str, conversation: str) -> list[TrailStep]:
        return [
            TrailStep(T0, "conversation_created", None, "parked", "customer_not_in_vitally",
                      "customer <b>jane@customer.example</b> not found in Vitally",
                      "Add the customer", 0, 7),
        ]  # fmt: skip

    sandbox = httpx.ASGITransport(app=create_app(seed=SEED, clock=ManualClock()))
    app = faust.App("console-test", broker="kafka://unused:9092", autodiscover=False)
    async with httpx.AsyncClient(transport=sandbox) as http:
        api = TenantApi(
            integrations=store, counts=counts.reader, box=box, publish=publish,
            base_url_override=None,
            probe=VitallyClient(http, retry=RetryPolicy(max_attempts=1)),
        )  # fmt: skip
        serve_tenant_api(app, api, admin_token=TOKEN, max_body=4096)
        console = Console(
            api=api, integrations=store, counts=counts.reader, signer=SessionSigner(TOKEN),
            trail=trail, dead_letters=dlq, max_body=4096,
        )  # fmt: skip
        add_routes(app, console.routes())
        web = app.web
        assert isinstance(web, AiohttpWeb)
        async with TestClient(TestServer(web.web_app)) as client:
            yield Browser(client, counts, published, dlq)


async def test_pages_need_a_session_and_the_sign_in_sets_a_strict_cookie(browser: Browser) -> None:
    for path in ("/console/tenants", "/console/connect", "/console/tenants/T1"):
        status, _ = await browser.page(path)
        assert status == 303
    refused = await browser.client.post("/console/sign-in", data={"token": TOKEN + "x"})
    assert refused.status == 401 and COOKIE not in browser.client.session.cookie_jar.filter_cookies(
        browser.client.make_url("/console/")
    )
    response = await browser.client.post(
        "/console/sign-in", data={"token": TOKEN}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/console/tenants"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert TOKEN not in cookie and TOKEN not in response.headers["Location"]
    status, html = await browser.page("/console/tenants")
    assert status == 200 and "No tenant has connected" in html and TOKEN not in html


async def test_every_page_has_a_strict_policy_and_no_script(browser: Browser) -> None:
    await browser.sign_in()
    for path in ("/console/sign-in", "/console/tenants", "/console/connect"):
        response = await browser.client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert "frame-ancestors 'none'" in policy
        html = await response.text()
        assert "<script" not in html and "style=" not in html
    css = await browser.client.get("/console/static/console.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert (await browser.client.get("/console/static/../guard.py")).status == 404


async def test_writes_need_the_forms_csrf_token_and_the_same_origin(browser: Browser) -> None:
    await browser.sign_in()
    no_token = await browser.client.post("/console/connect", data=FORM, allow_redirects=False)
    assert no_token.status == 403
    cross = await browser.client.post(
        "/console/connect", data={**FORM, "csrf": await browser.csrf("/console/connect")},
        headers={"Origin": "https://evil.example"}, allow_redirects=False,
    )  # fmt: skip
    assert cross.status == 403
    assert browser.published == []


async def test_a_wrong_key_is_shown_next_to_its_field_and_never_typed_back(
    browser: Browser,
) -> None:
    await browser.sign_in()
    wrong = await browser.post(
        "/console/connect", {**FORM, "apiKey": "not-the-key-123"}, csrf_from="/console/connect"
    )
    html = await wrong.text()
    assert wrong.status == 422
    field = re.search(r'id="apiKey"[^>]*aria-describedby="apiKey-error"', html)
    assert field and 'id="apiKey-error"' in html and "Basic" in html
    assert "not-the-key-123" not in html
    admin = await browser.post(
        "/console/connect", {**FORM, "defaultAdminEmail": "nobody@vendor.example"},
        csrf_from="/console/connect",
    )  # fmt: skip
    assert 'id="defaultAdminEmail-error"' in await admin.text()
    assert browser.published == []


async def test_connect_then_health_shows_fingerprints_only(browser: Browser) -> None:
    await browser.sign_in()
    saved = await browser.post("/console/connect", FORM, csrf_from="/console/connect")
    assert (
        saved.status == 303 and saved.headers["Location"] == "/console/tenants/T01ACME?done=saved"
    )
    [record] = browser.published
    status, html = await browser.page("/console/tenants/T01ACME")
    assert status == 200 and record.key_fingerprint in html
    assert SECRET not in html and BASIC not in html
    _, settings = await browser.page("/console/tenants/T01ACME/settings")
    assert 'value="acme"' in settings and BASIC not in settings


async def test_the_form_sets_the_later_settings_and_shows_their_errors_by_field(
    browser: Browser,
) -> None:
    await browser.sign_in()
    for field, value, said in (
        ("reconcileIntervalSeconds", "5", "10 to"),
        ("importSince", "30", "set unthreadApiKey"),
        ("importSince", "next tuesday", "ISO 8601"),
    ):
        refused = await browser.post(
            "/console/connect", {**FORM, field: value}, csrf_from="/console/connect"
        )
        html = await refused.text()
        assert refused.status == 422, (field, value)
        assert f'id="{field}-error"' in html and said in html, (field, value)
        assert f'value="{value}"' in html  # typed back for correcting
    assert browser.published == []
    saved = await browser.post(
        "/console/connect",
        {**FORM, "onVitallyConversationMissing": "recreate", "syncMessageEdits": "yes"},
        csrf_from="/console/connect",
    )  # fmt: skip
    assert saved.status == 303
    [record] = browser.published
    assert record.on_vitally_conversation_missing == "recreate"
    assert record.sync_message_edits and not record.sync_message_deletions
    _, settings = await browser.page("/console/tenants/T01ACME/settings")
    assert re.search(r'<option value="recreate" selected>', settings)
    assert re.search(r'name="syncMessageEdits" value="yes" checked', settings)
    assert not re.search(r'name="syncMessageDeletions" value="yes" checked', settings)
    assert 'id="importSince"' in settings and 'id="reconcileIntervalSeconds"' in settings


async def test_health_names_the_people_to_add_and_the_list_flags_them(browser: Browser) -> None:
    await browser.sign_in()
    await browser.post("/console/connect", FORM, csrf_from="/console/connect")
    detail = "customer jane@customer.example not found in Vitally: add it"
    for record in (
        audit_json(outcome="parked", reason="customer_not_in_vitally", detail=detail, offset=1),
        audit_json(outcome="synced", conversation="c-2", offset=2),
    ):
        await browser.counts.add(record)
    _, html = await browser.page("/console/tenants/T01ACME")
    assert "add jane@customer.example as a user" in html
    assert "customer_not_in_vitally" in html and "Re-check now" in html
    _, listing = await browser.page("/console/tenants")
    assert "add jane@customer.example as a user" in listing
    assert "synced 1" in listing and "parked 1" in listing
    recheck = await browser.post(
        "/console/tenants/T01ACME/recheck", {}, csrf_from="/console/tenants/T01ACME"
    )
    assert recheck.status == 303 and browser.published[-1].recheck_requested_at is not None


async def test_values_from_events_are_escaped(browser: Browser) -> None:
    await browser.sign_in()
    await browser.post("/console/connect", FORM, csrf_from="/console/connect")
    _, html = await browser.page("/console/tenants/T01ACME/trail?conversation=%3Cscript%3Ex")
    assert "<b>jane" not in html and "&lt;b&gt;jane" in html
    assert "<script>x" not in html and "&lt;script&gt;x" in html


async def test_disconnect_and_rotation_need_confirming(browser: Browser) -> None:
    await browser.sign_in()
    await browser.post("/console/connect", FORM, csrf_from="/console/connect")
    page = "/console/tenants/T01ACME/disconnect"
    unconfirmed = await browser.post(page, {"confirmTenant": "T01"}, csrf_from=page)
    statuses = [r.status for r in browser.published]
    assert unconfirmed.status == 422 and statuses == ["connected"]
    done = await browser.post(page, {"confirmTenant": "T01ACME"}, csrf_from=page)
    assert done.status == 303 and [r.status for r in browser.published][-1] == "disconnected"
    rotate = "/console/tenants/T01ACME/rotate"
    count = len(browser.published)
    unticked = await browser.post(rotate, {"apiKey": BASIC}, csrf_from=rotate)
    assert unticked.status == 422 and len(browser.published) == count
    ticked = await browser.post(rotate, {"apiKey": BASIC, "confirm": "yes"}, csrf_from=rotate)
    assert ticked.status == 303 and browser.published[-1].status == "connected"


async def test_a_tenant_that_never_connected_is_a_page_not_json(browser: Browser) -> None:
    await browser.sign_in()
    status, html = await browser.page("/console/tenants/T-nobody")
    assert status == 404 and "T-nobody has no Vitally integration" in html
    assert "<h1>That did not work</h1>" in html


async def test_health_shows_dead_letters_and_a_redrive_is_a_dry_run_until_confirmed(
    browser: Browser,
) -> None:
    await browser.sign_in()
    await browser.post("/console/connect", FORM, csrf_from="/console/connect")
    _, empty = await browser.page("/console/tenants/T01ACME")
    assert "No dead letters." in empty
    browser.dlq.letters = [dead_letter("T01ACME", "c-<i>9</i>", 7), dead_letter("T02", "c-2", 8)]
    _, html = await browser.page("/console/tenants/T01ACME")
    assert "vitally_rejected" in html and "DLQ 1/7" in html and "from in/2/47" in html
    assert "&lt;b&gt;400" in html and "<b>400" not in html and "c-&lt;i&gt;9" in html
    assert "c-2" not in html and "Fix: " in html
    assert 'href="/console/tenants/T01ACME/redrive?letters=1/7"' in html
    status, plan = await browser.page("/console/tenants/T01ACME/redrive?letters=1/7")
    assert status == 200 and "dry run" in plan and "Would go to" in plan and "in/2" in plan
    assert browser.dlq.executed == []
    # Not confirmed, or not this session's form: nothing is produced.
    dry_run = "/console/tenants/T01ACME/redrive?letters=1/7"
    unconfirmed = await browser.post(
        "/console/tenants/T01ACME/redrive", {"letters": "1/7"}, csrf_from=dry_run
    )
    assert unconfirmed.status == 422 and "Tick the confirmation" in await unconfirmed.text()
    forged = await browser.client.post(
        "/console/tenants/T01ACME/redrive", data={"letters": "1/7", "confirm": "yes"}
    )
    assert forged.status == 403 and browser.dlq.executed == []
    done = await browser.post(
        "/console/tenants/T01ACME/redrive", {"letters": "1/7", "confirm": "yes"}, csrf_from=dry_run
    )
    text = await done.text()
    assert done.status == 200 and "Re-driven: 1 of 1" in text and "in/2/100" in text
    assert browser.dlq.executed == [[(1, 7)]]
    # Another tenant's dead letter is not this tenant's to re-drive.
    _, other = await browser.page("/console/tenants/T01ACME/redrive?letters=1/8")
    assert "None of these is a dead letter of this tenant" in other
    bad, _ = await browser.page("/console/tenants/T01ACME/redrive?letters=1/x")
    assert bad == 400


async def test_an_unreadable_dlq_is_said_on_the_page(browser: Browser) -> None:
    await browser.sign_in()
    await browser.post("/console/connect", FORM, csrf_from="/console/connect")
    browser.dlq.unreadable = True
    status, html = await browser.page("/console/tenants/T01ACME")
    assert status == 200 and "The DLQ could not be read: cannot reach Kafka" in html
