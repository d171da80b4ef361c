"""Webhook-shaped sparse events, as Unthread sends them, sync once their gaps are looked up.

Ids only, `content` instead of `text`, epoch-millisecond times, no people: the worker reads
the tenant's Unthread key (given at connect time) and asks the Unthread sandbox for the
conversation and for each sender, then syncs to the right Vitally user and admin.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from demo.events import Record, envelope
from unthread_sandbox.process import UnthreadSandboxHandle
from unthread_sandbox.process import run_sandbox as run_unthread_sandbox

from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"
UNTHREAD_KEY = "acme-unthread-key"
CONV = "26884dc8-0000-4000-8000-00000000e2e1"
JANE = {"id": "9a1b-jane", "name": "Jane Doe", "email": "jane@customer.example",
        "slackId": "U08D38QMGQ7"}  # fmt: skip
SAM = {"id": "4e1cc76a-agent", "name": "Sam Agent", "email": "sam@vendor.example",
       "slackId": "U0SAM"}  # fmt: skip


@pytest.fixture(scope="module")
def unthread() -> Iterator[UnthreadSandboxHandle]:
    with run_unthread_sandbox() as handle:
        yield handle


def _slack_id(at: datetime, suffix: str) -> tuple[str, str]:
    """A Slack ts and the message id Unthread builds from it (team-channel-ts)."""
    ts = f"{at.timestamp():.6f}"
    return ts, f"T08DF0UA02H-C08DWG00P25-{ts}{suffix}"


def test_sparse_webhooks_sync_every_message_to_the_right_people(
    deployed: Deployment, sandbox: SandboxHandle, unthread: UnthreadSandboxHandle
) -> None:
    org = sandbox.add_org(
        "acme",
        tokens=["acme-secret-1"],
        users=[{"email": JANE["email"], "name": JANE["name"]}],
        admins=[
            {"email": SAM["email"], "name": SAM["name"], "licenseStatus": "active"},
            {"email": "ops@vendor.example", "name": "Ops", "licenseStatus": "active"},
        ],
    )
    vitally_user = {p["email"]: p["id"] for p in org["users"]}[JANE["email"]]
    vitally_admin = {p["email"]: p["id"] for p in org["admins"]}[SAM["email"]]
    now = datetime.now(UTC) + timedelta(seconds=5)  # after the connect below
    initial_ts, initial_id = _slack_id(now, "")
    unthread.add_tenant(
        TENANT,
        keys=[UNTHREAD_KEY],
        users=[JANE, SAM],
        conversations=[
            {
                "id": CONV, "title": "CSV export fails", "status": "open",
                "submitterUserId": JANE["id"], "assignedToUserId": SAM["id"],
                "createdAt": now.isoformat(),
                "initialMessage": {"id": initial_id, "ts": initial_ts, "text": "Export fails",
                                   "userId": JANE["slackId"]},
            }
        ],
    )  # fmt: skip
    deployed.service_env["UNTHREAD_BASE_URL"] = unthread.api_url
    connected = deployed.connect(
        TENANT, "--unthread-api-key", UNTHREAD_KEY, subdomain="acme", api_key="acme-secret-1"
    )
    assert connected["unthreadKeyFingerprint"] and UNTHREAD_KEY not in json.dumps(connected)
    deployed.start_worker()

    reply_ts, reply_id = _slack_id(now + timedelta(seconds=1), "")
    _, dashboard_id = _slack_id(now + timedelta(seconds=2), "")
    millis = int(now.timestamp() * 1000)
    records: list[Record | tuple[bytes | None, bytes | None]] = [
        # The conversation as public webhook clients show it: ids and epoch milliseconds.
        _record(
            "conversation_created",
            {
                "id": CONV,
                "title": "CSV export fails",
                "userId": JANE["slackId"],
                "createdAt": millis,
                "updatedAt": millis,
            },
            now,
        ),  # fmt: skip
        # A Slack message: only the Slack user id, `content`, no time but its id's ts.
        _record(
            "message_created",
            {
                "id": reply_id,
                "conversationId": CONV,
                "content": "Any news?",
                "userId": JANE["slackId"],
            },
            now + timedelta(seconds=1),
        ),  # fmt: skip
        # A reply from the dashboard, posted by Unthread's bot on the teammate's behalf.
        _record(
            "message_created",
            {
                "id": dashboard_id,
                "conversationId": CONV,
                "text": "On it",
                "botName": "Sam Agent",
                "userId": "U0UNTHREADBOT",
                "sentByUserId": SAM["id"],
            },
            now + timedelta(seconds=2),
        ),  # fmt: skip
    ]
    produced = deployed.produce(records)
    audit = deployed.audit(expected=produced)
    assert [(a["outcome"], a["reason"]) for a in audit] == [("synced", None)] * 3, audit
    dashboard_audit = next(a for a in audit if a["messageId"] == dashboard_id)

    [stored] = sandbox.conversations("acme")
    assert stored["externalId"] == CONV and stored["subject"] == "CSV export fails"
    by_id = {m["externalId"]: m for m in stored["messages"]}
    assert set(by_id) == {initial_id, reply_id, dashboard_id}

    def route(message: dict[str, Any]) -> tuple[str, str, str, str]:
        sent, to = message["from"], message["to"][0]
        return (sent["type"], sent["id"], to["type"], to["id"])

    customer = ("user", vitally_user, "admin", vitally_admin)
    assert route(by_id[initial_id]) == customer
    assert route(by_id[reply_id]) == customer
    assert route(by_id[dashboard_id]) == ("admin", vitally_admin, "user", vitally_user)
    # The Slack message's time is its ts, to the millisecond.
    sent_at = datetime.fromisoformat(by_id[reply_id]["timestamp"])
    assert abs(sent_at.timestamp() - float(reply_ts)) < 0.001
    # Looked up once each: the conversation, and each sender (the cache answers the rest).
    asked = [r["path"] for r in unthread.requests(TENANT)]
    assert asked.count(f"/api/conversations/{CONV}") == 1
    print(json.dumps({"audit": dashboard_audit, "vitally": by_id[dashboard_id]}, indent=1))


def _record(event: str, data: dict[str, Any], at: datetime) -> Record:
    return Record.of(CONV, envelope(TENANT, event, data, at=at))
