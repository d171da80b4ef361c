"""The whole sync on a real broker and the Vitally sandbox, with the worker run from its Procfile.

One installation gets a realistic mix: two conversations that sync with replies from both
sides, and one event for each troubleshooting case in the README, each of which must end as a
skipped audit record with its reason, plus an unsupported event and a broken record. A person
missing from Vitally first parks the event and is re-checked until the window, shortened here
to seconds, runs out: a new conversation holds its later events back meanwhile, a message
waits alone while the rest of its thread flows on.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from demo.events import Record, envelope, message, new_conversation, reply
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.tenant_api import wait_for
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment
from tests.metric_names import ROOT, documented, scraped

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"


def _org(sandbox: SandboxHandle) -> dict[str, Any]:
    return sandbox.add_org(
        "acme",
        tokens=["acme-secret-1"],
        users=[
            {"email": "jane@customer.example", "name": "Jane Doe"},
            {"email": "bob@customer.example", "name": "Bob Roe"},
        ],
        admins=[
            {"email": "sam@vendor.example", "name": "Sam Agent", "licenseStatus": "active"},
            {"email": "ops@vendor.example", "name": "Ops Default", "licenseStatus": "active"},
        ],
    )


def _ids(org: dict[str, Any], kind: str) -> dict[str, str]:
    return {person["email"]: person["id"] for person in org[kind]}


def test_conversations_and_messages_sync_and_every_skip_is_audited(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    org = _org(sandbox)
    users, admins = _ids(org, "users"), _ids(org, "admins")
    connected = deployed.connect(TENANT, subdomain="acme.rest.vitally.io", api_key="acme-secret-1")
    assert connected["subdomain"] == "acme" and "apiKey" not in json.dumps(connected)
    deployed.start_worker(
        PARK_PEOPLE_WINDOW_SECONDS="3", PARK_MIN_DELAY_SECONDS="0.5",
        PARK_SCAN_INTERVAL_SECONDS="0.3", LOOKUP_MISS_TTL_SECONDS="0.5",
    )  # fmt: skip

    now = datetime.now(UTC)
    t = [now + timedelta(seconds=i) for i in range(20)]
    long_text = "Our nightly CSV export has been failing since Tuesday with a timeout " * 3
    records: list[Record | tuple[bytes | None, bytes | None]] = [
        new_conversation(
            TENANT,
            "c-a",
            submitter="jane@customer.example",
            assignee="sam@vendor.example",
            title="CSV export fails",
            text="Hi, *export* fails",
            at=t[0],
        ),
        reply(
            TENANT,
            "c-a",
            "Looking into it",
            sender="sam@vendor.example",
            support=True,
            at=t[1],
            message_id="m-a2",
        ),
        reply(
            TENANT,
            "c-a",
            "Thanks!",
            sender="jane@customer.example",
            support=False,
            at=t[2],
            message_id="m-a3",
        ),
        reply(
            TENANT,
            "c-a",
            "Same here",
            sender="bob@customer.example",
            support=False,
            at=t[3],
            message_id="m-a4",
        ),
        reply(
            TENANT,
            "c-a",
            "internal",
            sender="sam@vendor.example",
            support=True,
            at=t[4],
            message_id="m-a5",
            isPrivateNote=True,
        ),
        reply(
            TENANT,
            "c-a",
            "We got it",
            sender="bot@vendor.example",
            support=True,
            at=t[5],
            message_id="m-a6",
            isAutoresponse=True,
        ),
        reply(
            TENANT,
            "c-a",
            "who?",
            sender="nobody@vendor.example",
            support=True,
            at=t[6],
            message_id="m-a7",
        ),
        Record.of(
            "c-a",
            envelope(
                TENANT,
                "message_created",
                message("c-a", "no email", message_id="m-a8", sender=None, external=True, at=t[7]),
            ),
        ),
        Record.of(
            "c-a",
            envelope(
                TENANT,
                "message_created",
                message(
                    "c-a",
                    "nobody",
                    message_id="m-a9",
                    sender=None,
                    external=True,
                    at=t[7],
                    userId=None,
                ),
            ),
        ),
        new_conversation(
            TENANT,
            "c-b",
            submitter="bob@customer.example",
            assignee=None,
            title=None,
            text=long_text,
            at=t[8],
        ),
        reply(
            TENANT,
            "c-b",
            "Any news?",
            sender="bob@customer.example",
            support=False,
            at=t[9],
            message_id="m-b2",
        ),
        new_conversation(
            TENANT,
            "c-old",
            submitter="jane@customer.example",
            assignee=None,
            title="old",
            text="old",
            at=now - timedelta(days=1),
        ),
        reply(TENANT, "c-old", "ping", sender="jane@customer.example", support=False, at=t[10]),
        new_conversation(
            TENANT,
            "c-stranger",
            submitter="stranger@else.example",
            assignee=None,
            title="hi",
            text="hi",
            at=t[11],
        ),
        new_conversation(
            "T02OTHER",
            "c-other",
            submitter="jane@customer.example",
            assignee=None,
            title="x",
            text="x",
            at=t[12],
        ),
        Record.of("c-a", envelope(TENANT, "conversation_snoozed", {"id": "c-a"}, at=t[13])),
        (b"c-broken", b"{this is not json"),
    ]
    produced = deployed.produce(records)

    # Parked: the unknown teammate's reply (alone: the events after it in its conversation
    # go on) and the stranger's conversation; each gets one more record when resolved.
    audit = deployed.audit(expected=produced + 2)
    assert len(audit) == produced + 2
    parked = Counter(a["reason"] for a in audit if a["outcome"] == "parked")
    assert parked == Counter({"teammate_not_in_vitally": 1, "customer_not_in_vitally": 1})
    final = {json.dumps(a["source"], sort_keys=True): a for a in audit}  # last record wins
    assert len(final) == produced
    by_message = {(a["conversationId"], a["messageId"], a["event"]): a for a in final.values()}
    outcomes = Counter((a["outcome"], a["reason"]) for a in final.values())
    assert outcomes == Counter({
        ("synced", None): 6,
        ("skipped", "private_note"): 1,
        ("skipped", "automated_message"): 1,
        ("skipped", "teammate_not_in_vitally"): 1,
        # No email: with a Slack user id, an Unthread key would have found it; without one,
        # there is nobody to look up.
        ("skipped", "unthread_key_missing"): 1,
        ("skipped", "no_sender_email"): 1,
        ("skipped", "created_before_connect"): 1,
        ("skipped", "conversation_not_synced"): 1,
        ("skipped", "customer_not_in_vitally"): 1,
        ("skipped", "integration_not_connected"): 1,
        ("skipped", "unsupported_event"): 1,
        ("failed", "invalid_event"): 1,
    })  # fmt: skip
    assert by_message[("c-a", "m-a2", "message_created")]["apiCalls"] >= 1
    assert by_message[("c-stranger", None, "conversation_created")]["attempts"] > 1
    for record in audit:
        assert record["source"]["topic"] == deployed.input_topic
        assert "Thanks" not in json.dumps(record)  # no message text in the audit

    conversations = {c["externalId"]: c for c in sandbox.conversations("acme")}
    assert set(conversations) == {"c-a", "c-b"}
    a, b = conversations["c-a"], conversations["c-b"]
    assert a["subject"] == "CSV export fails"
    assert b["subject"].startswith("Our nightly CSV export") and b["subject"].endswith("…")
    assert len(b["subject"]) <= 80

    def route(m: dict[str, Any]) -> tuple[str, str, str, str]:
        return (m["from"]["type"], m["from"]["id"], m["to"][0]["type"], m["to"][0]["id"])

    jane, bob = users["jane@customer.example"], users["bob@customer.example"]
    sam, ops = admins["sam@vendor.example"], admins["ops@vendor.example"]
    assert [m["externalId"] for m in a["messages"]][1:] == ["m-a2", "m-a3", "m-a4"]
    assert [route(m) for m in a["messages"]] == [
        ("user", jane, "admin", sam),
        ("admin", sam, "user", jane),
        ("user", jane, "admin", sam),
        ("user", bob, "admin", sam),
    ]
    assert a["messages"][0]["message"] == "<p>Hi, <strong>export</strong> fails</p>"
    # No assignee: the Default Admin is the conversation's admin.
    assert [route(m) for m in b["messages"]] == [("user", bob, "admin", ops)] * 2
    assert b["messages"][1]["externalId"] == "m-b2"

    dead = deployed.dlq(expected=1)
    assert [d.value for d in dead] == [b"{this is not json"]
    headers = dict(dead[0].headers)
    assert headers["x-error-reason"] == b"invalid_json"
    assert headers["x-source-topic"] == deployed.input_topic.encode()

    _check_metrics(deployed, audit, secrets=["acme-secret-1", deployed.admin_token])
    _check_logs(deployed, secrets=["acme-secret-1", deployed.admin_token], records=records)


def _check_metrics(
    deployed: Deployment, audit: list[dict[str, Any]], *, secrets: list[str]
) -> None:
    """GET /metrics needs no token, holds no secret, and counts what the audit topic holds."""
    answer = httpx.get(f"{deployed.workers[0].web_url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert not any(secret in answer.text for secret in secrets)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }
    counted = Counter(
        {
            (dict(labels)["outcome"], dict(labels)["reason"]): int(value)
            for (name, labels), value in samples.items()
            if name == "vitally_sync_audit_records_total" and value
        }
    )
    assert counted == Counter((a["outcome"], a["reason"] or "") for a in audit)
    posts = sum(
        value
        for (name, labels), value in samples.items()
        if name == "vitally_sync_vitally_requests_total"
        and dict(labels)["status"] == "2xx"
        and dict(labels)["endpoint"].startswith("POST")
    )
    assert posts >= 6  # two conversations and their replies were written
    assert any(name.startswith(f"{deployed.name.replace('-', '_')}_") for name, _ in samples)
    names = {name for name, _ in samples}
    assert {"vitally_sync_consumer_lag", "vitally_sync_integrations"} <= names
    assert samples[("vitally_sync_dlq_records_total", (("reason", "invalid_json"),))] == 1
    # Caught up: the oldest record not handled has waited for nothing.
    ages = [v for (n, ls), v in samples.items() if n == "vitally_sync_consumer_lag_seconds"]
    assert ages and all(age == 0 for age in ages)
    # The docs list exactly what this worker exposes, as exposed (counters with _total).
    exposed = scraped(text_string_to_metric_families(answer.text))
    assert documented(ROOT / "docs" / "interfaces.md") == set(exposed)
    assert documented(ROOT / "README.md") == set(exposed)


def _waiting_ages(deployed: Deployment) -> dict[str, float]:
    answer = httpx.get(f"{deployed.workers[0].web_url}/metrics", timeout=10)
    return {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name == "vitally_sync_oldest_waiting_event_age_seconds"
    }


def _check_logs(
    deployed: Deployment,
    *,
    secrets: list[str],
    records: list[Record | tuple[bytes | None, bytes | None]],
) -> None:
    """The worker's output (not a terminal) is one JSON object per line; no line holds a key,
    a token or any message text, and lines about a record name it."""
    texts = set()
    for record in records:
        if isinstance(record, Record):
            data = json.loads(record.value or b"{}").get("data", {})
            for message in (data, data.get("initialMessage") or {}):
                # Long enough not to occur in a log line by chance ("ping" is in "Stopping").
                if isinstance(message.get("text"), str) and len(message["text"]) >= 9:
                    texts.add(message["text"])
    assert texts, "the workload has message texts to look for"
    deployed.stop()  # whole lines only, shutdown included
    lines = [line for w in deployed.workers for line in w.log_path.read_text().splitlines() if line]
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(p) for p in parsed)
    for line in lines:
        assert not any(secret in line for secret in secrets), line
        assert not any(text in line for text in texts), line
    about_records = [p for p in parsed if "offset" in p and "tenant" in p]
    assert about_records, "some lines are about a record"
    assert all({"topic", "partition", "conversation"} <= set(p) for p in about_records)


def test_an_unknown_sender_holds_back_only_their_message_until_a_recheck(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    _org(sandbox)
    deployed.connect(TENANT, subdomain="acme", api_key="acme-secret-1")
    # Production backoff (a minute at least): only the re-check can bring it in quickly.
    deployed.start_worker(PARK_SCAN_INTERVAL_SECONDS="0.3")
    now = datetime.now(UTC)
    t = [now + timedelta(seconds=i) for i in range(6)]
    records: list[Record | tuple[bytes | None, bytes | None]] = [
        new_conversation(
            TENANT, "c-u", submitter="jane@customer.example", assignee="sam@vendor.example",
            title="Slow", text="slow", at=t[0],
        ),
        reply(TENANT, "c-u", "me too", sender="new@customer.example", support=False, at=t[1],
              message_id="m-u2"),
        reply(TENANT, "c-u", "on it", sender="sam@vendor.example", support=True, at=t[2],
              message_id="m-u3"),
        reply(TENANT, "c-u", "thanks", sender="jane@customer.example", support=False, at=t[3],
              message_id="m-u4"),
    ]  # fmt: skip
    produced = deployed.produce(records)
    audit = deployed.audit(expected=produced)
    parked = [a for a in audit if a["outcome"] == "parked"]
    [waiting] = [(a["messageId"], a["reason"]) for a in parked]
    assert waiting == ("m-u2", "customer_not_in_vitally")
    assert "new@customer.example" in parked[0]["detail"]
    [stored] = sandbox.conversations("acme")
    assert [m["externalId"] for m in stored["messages"]][1:] == ["m-u3", "m-u4"]
    # The on-call sees how long it has waited, by reason (set aside: the thread flows past).
    first_parked = parked[0]["processedAt"] / 1000
    [age] = _waiting_ages(deployed).values()
    assert list(_waiting_ages(deployed)) == ["customer_not_in_vitally"]
    assert 0 <= age <= datetime.now(UTC).timestamp() - first_parked + 1

    sandbox.add_user("acme", email="new@customer.example", name="New Person")
    deployed.cli("recheck", "--tenant", TENANT)
    audit = deployed.audit(expected=produced + 1, timeout=30)
    wait_for(lambda: _waiting_ages(deployed) == {}, what="nothing waits any more")
    final = [a for a in audit if a["messageId"] == "m-u2"][-1]
    assert (final["outcome"], final["reason"]) == ("synced", None)
    [stored] = sandbox.conversations("acme")
    by_id = {m["externalId"]: m for m in stored["messages"]}
    assert set(by_id) >= {"m-u2", "m-u3", "m-u4"}
    # Added with its own time, so Vitally shows the thread in the order it happened.
    sent_at = datetime.fromisoformat(by_id["m-u2"]["timestamp"])
    assert abs(sent_at - t[1]) < timedelta(milliseconds=1)  # JSON carries milliseconds
