"""The console in a real browser: Debian's Chromium driven by Playwright (the system browser,
never one Playwright downloads), against a running worker, the broker and the Vitally sandbox.

The walk a support-ops lead takes: sign in, connect with a wrong key and read the error beside
the field, connect with the right one, watch a customer's reply wait with the email to add,
add that person in the sandbox, press re-check, and see the message in Vitally; then a reply
Vitally rejects shown among the tenant's dead letters, its re-drive as a dry run, then
confirmed and synced. With
``CONSOLE_SCREENSHOTS=docs/console`` the pages are saved there (the README's pictures).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from demo.events import new_conversation, reply
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from tests.e2e.tenant_api import basic, wait_for
from tests.fixtures.sandbox import ACME_TOKEN, SandboxHandle, add_acme
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01CONSOLE"
NEWCOMER = "new@customer.example"
LAPTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=390, height=844)


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("Debian's chromium package is missing (.ci/run installs it)")
    pytest.skip("no chromium on this machine (apt-get install chromium)")


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's own sandbox cannot start.
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


class Shots:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
        self.dir.mkdir(parents=True, exist_ok=True)

    def take(self, page: Page, name: str) -> None:
        page.screenshot(path=str(self.dir / f"{name}.png"), full_page=True)


def test_connect_wait_for_a_person_recheck_and_sync(
    deployed: Deployment, sandbox: SandboxHandle, browser: Browser, tmp_path: Path
) -> None:
    add_acme(sandbox)
    worker = deployed.start_worker(PARK_SCAN_INTERVAL_SECONDS="0.3")
    shots = Shots(tmp_path)
    context = browser.new_context(viewport=LAPTOP, base_url=worker.web_url)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if m.type == "error" else None)

    # Signing in: the token goes in a form, never in the address.
    page.goto("/console/tenants")
    expect(page).to_have_url(f"{worker.web_url}/console/sign-in")
    shots.take(page, "sign-in")
    expect(page.get_by_label("Admin token")).to_be_focused()
    page.keyboard.type(deployed.admin_token)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Tenants")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    assert deployed.admin_token not in page.url
    [cookie] = context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # A wrong key: the error sits beside the key's field.
    page.get_by_role("link", name="Connect a tenant").click()
    page.get_by_label("Unthread tenant id").fill(TENANT)
    page.get_by_label("Vitally Subdomain").fill("acme")
    page.get_by_label("Vitally API Key").fill(basic("not-the-key"))
    page.get_by_label("Default Admin Email").fill("ops@vendor.example")
    page.get_by_role("button", name="Connect to Vitally").click()
    error = page.locator("#apiKey-error")
    expect(error).to_be_visible()
    expect(page.get_by_label("Vitally API Key")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Vitally API Key")).to_have_value("")
    shots.take(page, "connect-wrong-key")

    page.get_by_label("Vitally API Key").fill(basic(ACME_TOKEN))
    page.get_by_role("button", name="Connect to Vitally").click()
    expect(page.get_by_role("heading", name=TENANT)).to_be_visible()
    expect(page.get_by_text("Saved and checked against Vitally.")).to_be_visible()
    assert ACME_TOKEN not in page.content() and basic(ACME_TOKEN) not in page.content()

    # Events: a conversation, then a reply from a customer Vitally does not know yet.
    now = datetime.now(UTC)
    produced = deployed.produce(
        [
            new_conversation(TENANT, "c-console", submitter="jane@customer.example",
                             assignee="sam@vendor.example", title="Export fails",
                             text="export fails", at=now),
            reply(TENANT, "c-console", "me too", sender=NEWCOMER, support=False,
                  at=now + timedelta(seconds=1), message_id="m-newcomer"),
        ]
    )  # fmt: skip
    deployed.audit(expected=produced)
    instruction = page.get_by_text(f"add {NEWCOMER} as a user").first

    def shown() -> bool | None:
        page.reload()
        return instruction.is_visible() or None

    wait_for(shown, timeout=60, what="the person to add")
    shots.take(page, "tenant-waiting")
    page.goto("/console/tenants")
    expect(page.get_by_text(f"add {NEWCOMER} as a user")).to_be_visible()
    last_day = page.locator("td[data-label='Last day']")

    def counted() -> bool | None:  # from the audit summary, published every few seconds
        page.reload()
        return "synced 1" in last_day.inner_text() or None

    wait_for(counted, timeout=60, what="the last day's counts")
    expect(page.locator("td[data-label='Last sync']")).not_to_have_text("never")
    shots.take(page, "tenants")

    # Add the person in Vitally, press re-check: the message reaches Vitally.
    sandbox.add_user("acme", email=NEWCOMER, name="New Person")
    page.get_by_role("link", name=TENANT).click()
    page.get_by_role("button", name="Re-check now").click()
    expect(page.get_by_text("Re-check requested")).to_be_visible()

    def synced() -> bool | None:
        [stored] = sandbox.conversations("acme")
        return any(m["externalId"] == "m-newcomer" for m in stored["messages"]) or None

    wait_for(synced, timeout=60, what="the waiting message in Vitally")

    def cleared() -> bool | None:
        page.reload()
        return page.get_by_text("Nothing waits.").is_visible() or None

    wait_for(cleared, timeout=30, what="nothing waiting")
    shots.take(page, "tenant-healthy")

    # The conversation's trail, what `vitally-sync why` shows.
    page.get_by_label("Unthread conversation id").fill("c-console")
    page.keyboard.press("Enter")
    expect(page.get_by_text("synced").first).to_be_visible()
    expect(page.get_by_text("customer_not_in_vitally").first).to_be_visible()
    shots.take(page, "trail")

    # A reply Vitally rejects goes to the DLQ: the tenant's page shows it, and its re-drive
    # is a dry run first, then, confirmed, syncs it once.
    sandbox.set_faults("acme", error_rate=1.0, error_status=422)
    deployed.produce(
        [reply(TENANT, "c-console", "rejected", sender="sam@vendor.example", support=True,
               at=now + timedelta(seconds=2), message_id="m-rejected")]
    )  # fmt: skip
    [dead] = deployed.dlq(expected=1)
    sandbox.set_faults("acme", error_rate=0.0)
    page.goto("/console/tenants/T01CONSOLE")
    letters = page.locator("ul.letters li")
    expect(letters).to_have_count(1)
    expect(letters.first).to_contain_text("vitally_rejected")
    expect(letters.first).to_contain_text(f"DLQ {dead.partition}/{dead.offset}")
    page.locator("#dead-letters").scroll_into_view_if_needed()
    shots.take(page, "tenant-dead-letters")
    letters.first.get_by_role("link", name="Re-drive: dry run").click()
    expect(page.get_by_role("heading", name="Re-drive 1 dead letter: dry run")).to_be_visible()
    expect(page.get_by_text("Nothing has been sent yet.")).to_be_visible()
    source = (dict(dead.headers)["__connect.errors.partition"] or b"").decode()
    expect(page.get_by_role("cell", name=f"{deployed.input_topic}/{source}")).to_be_visible()
    shots.take(page, "redrive-dry-run")

    def rejected_in_vitally() -> int:
        return sum(m["externalId"] == "m-rejected"
                   for c in sandbox.conversations("acme") for m in c["messages"])  # fmt: skip

    time.sleep(1.0)  # the dry run sent nothing: the message is still not in Vitally
    assert rejected_in_vitally() == 0
    page.get_by_role("button", name="Re-drive now").click()
    expect(page.get_by_text("Tick the confirmation to re-drive.")).to_be_visible()
    page.get_by_label("Send 1 record back to be handled again").check()
    page.get_by_role("button", name="Re-drive now").click()
    expect(page.get_by_role("heading", name="Re-driven: 1 of 1")).to_be_visible()
    wait_for(lambda: rejected_in_vitally() == 1 or None, timeout=60, what="the re-driven reply")

    page.goto("/console/tenants/T01CONSOLE/settings")
    shots.take(page, "settings")
    page.goto("/console/tenants/T01CONSOLE/disconnect")
    shots.take(page, "disconnect")

    # A phone's width: nothing wider than the screen.
    page.set_viewport_size(PHONE)
    for path, name in (("/console/tenants", "tenants-phone"),
                       ("/console/tenants/T01CONSOLE", "tenant-phone")):  # fmt: skip
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        shots.take(page, name)
    assert not [m for m in blocked if "Content Security Policy" in m], blocked
    context.close()
    log = worker.log_path.read_text()
    assert "console sign-in" in log  # the log is there, and says who signed in, not with what
    for secret in (deployed.admin_token, ACME_TOKEN, basic(ACME_TOKEN), basic("not-the-key")):
        assert secret not in log
