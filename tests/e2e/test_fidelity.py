"""Updates, deletions, backfill and an EU tenant end to end: the worker from its Procfile, the
real broker, the Vitally sandbox.

Updates: a conversation closed and reassigned in Unthread shows it in Vitally's traits, an
older update that arrives after a newer one changes nothing, an update that changes nothing
synced sends nothing. Deletions follow each tenant's ``onConversationDeleted``. A backfill
brings in conversations from before the connection, live and by re-reading the topic after
the consumer group's offsets were reset. An ``eu`` tenant connects and syncs.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from demo.events import Record, conversation, envelope, iso, new_conversation, reply
from vitally_sandbox.auth import fingerprint

from tests.faults.offsets import rewind
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"
JANE = "jane@customer.example"
SAM = "sam@vendor.example"
KIM = "kim@vendor.example"


def _org(sandbox: SandboxHandle, subdomain: str = "acme", *keys: str) -> Any:
    return sandbox.add_org(
        subdomain,
        tokens=list(keys or ["acme-secret-1"]),
        users=[{"email": JANE, "name": "Jane Doe"}],
        admins=[
            {"email": SAM, "name": "Sam Agent", "licenseStatus": "active"},
            {"email": KIM, "name": "Kim Agent", "licenseStatus": "active"},
            {"email": "ops@vendor.example", "name": "Ops Default", "licenseStatus": "active"},
        ],
    )


def _update(
    tenant: str, conversation_id: str, *, created: datetime, at: datetime, status: str,
    assignee: str | None, title: str = "CSV export fails", **extra: Any,
) -> Record:  # fmt: skip
    """A conversation_updated event: the conversation as Unthread has it at ``at``."""
    data = conversation(
        conversation_id, title=title, submitter=JANE, assignee=assignee, status=status,
        created_at=created,
    )  # fmt: skip
    data.update({"updatedAt": iso(at), **extra})
    return Record.of(conversation_id, envelope(tenant, "conversation_updated", data, at=at))


def _deleted(tenant: str, conversation_id: str, at: datetime) -> Record:
    data = conversation(conversation_id, title=None, submitter=JANE)
    return Record.of(conversation_id, envelope(tenant, "conversation_deleted", data, at=at))


def _finals(audit: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last audit record of every input record, by its source."""
    return {json.dumps(a["source"], sort_keys=True): a for a in audit}


def _stored(sandbox: SandboxHandle, org: str) -> dict[str, dict[str, Any]]:
    return {c["externalId"]: c for c in sandbox.conversations(org)}


def test_updates_change_the_vitally_conversation_newest_first(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    org = _org(sandbox)
    admins = {a["email"]: a["id"] for a in org["admins"]}
    deployed.connect(TENANT, subdomain="acme", api_key="acme-secret-1")
    deployed.start_worker()
    t0 = datetime.now(UTC)
    deployed.produce([
        new_conversation(TENANT, "c-up", submitter=JANE, assignee=SAM,
                         title="CSV export fails", text="Hi, export fails", at=t0),
    ])  # fmt: skip
    [created] = deployed.audit(expected=1)
    assert created["outcome"] == "synced"
    before = _stored(sandbox, "acme")["c-up"]
    assert before["traits"]["unthreadStatus"] == "open"
    assert before["traits"]["unthreadAssigneeEmail"] == SAM

    closed_at = iso(t0 + timedelta(minutes=2))
    closing = {"closedAt": closed_at, "statusUpdatedAt": closed_at}
    produced = deployed.produce([
        # Closed and handed to Kim, with a new title.
        _update(TENANT, "c-up", created=t0, at=t0 + timedelta(minutes=2), status="closed",
                assignee=KIM, title="CSV export fails on Mondays", **closing),
        # An older update, delivered late: it must not reopen the conversation.
        _update(TENANT, "c-up", created=t0, at=t0 + timedelta(minutes=1), status="in_progress",
                assignee=SAM),
        # Newer, but nothing that is synced changed.
        _update(TENANT, "c-up", created=t0, at=t0 + timedelta(minutes=3), status="closed",
                assignee=KIM, title="CSV export fails on Mondays", **closing),
        reply(TENANT, "c-up", "Thanks!", sender=JANE, support=False,
              at=t0 + timedelta(minutes=4), message_id="m-thanks"),
    ])  # fmt: skip

    audit = deployed.audit(expected=1 + produced)
    updates = [a for a in audit if a["event"] == "conversation_updated"]
    assert [(a["outcome"], a["reason"], a["detail"]) for a in updates] == [
        ("synced", None, "status,assignee,closedAt,statusUpdatedAt,subject"),
        ("skipped", "stale_update", None),
        ("skipped", "no_change", None),
    ]
    assert updates[0]["vitallyConversationId"] == before["id"]
    assert [a["apiCalls"] for a in updates] == [2, 0, 0]  # Kim's admin look-up and the PUT
    assert "Mondays" not in json.dumps(audit)  # field names, never values

    after = _stored(sandbox, "acme")["c-up"]
    assert after["subject"] == "CSV export fails on Mondays"
    assert after["traits"] == {
        **before["traits"],
        "unthreadStatus": "closed",
        "unthreadAssigneeName": "kim",
        "unthreadAssigneeEmail": KIM,
        "unthreadClosedAt": closed_at,
        "unthreadStatusUpdatedAt": closed_at,
    }
    # The new assignee receives the customer's later replies.
    assert after["messages"][-1]["to"] == [{"type": "admin", "id": admins[KIM]}]
    puts = [r for r in sandbox.requests(org="acme") if r["method"] == "PUT"]
    assert [r["status"] for r in puts] == [200]


def test_deletions_follow_each_tenants_setting(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    _org(sandbox)
    _org(sandbox, "globex", "globex-secret-1")
    chosen = deployed.connect(
        TENANT, "--on-conversation-deleted", "delete", subdomain="acme", api_key="acme-secret-1"
    )
    assert chosen["onConversationDeleted"] == "delete"
    deployed.connect("T02KEEP", subdomain="globex", api_key="globex-secret-1")
    assert deployed.status(TENANT)["onConversationDeleted"] == "delete"
    assert deployed.status("T02KEEP")["onConversationDeleted"] == "keep"
    deployed.start_worker()
    t0 = datetime.now(UTC)
    produced = deployed.produce([
        new_conversation(TENANT, "c-del", submitter=JANE, assignee=SAM, title="Bye",
                         text="Please delete", at=t0),
        new_conversation("T02KEEP", "c-keep", submitter=JANE, assignee=SAM, title="Stay",
                         text="Please keep", at=t0),
        _deleted(TENANT, "c-del", t0 + timedelta(seconds=5)),
        _deleted("T02KEEP", "c-keep", t0 + timedelta(seconds=5)),
        _deleted(TENANT, "c-del", t0 + timedelta(seconds=6)),  # an upstream re-send
        reply(TENANT, "c-del", "Hello?", sender=JANE, support=False,
              at=t0 + timedelta(seconds=7)),
    ])  # fmt: skip

    audit = deployed.audit(expected=produced)
    outcomes = Counter(
        (a["tenantId"], a["event"], a["outcome"], a["reason"]) for a in _finals(audit).values()
    )
    assert outcomes == Counter({
        (TENANT, "conversation_created", "synced", None): 1,
        (TENANT, "conversation_deleted", "synced", None): 1,
        (TENANT, "conversation_deleted", "duplicate", "already_synced"): 1,
        (TENANT, "message_created", "skipped", "conversation_deleted"): 1,
        ("T02KEEP", "conversation_created", "synced", None): 1,
        ("T02KEEP", "conversation_deleted", "skipped", "deletion_not_synced"): 1,
    })  # fmt: skip
    assert sandbox.conversations("acme") == []
    assert list(_stored(sandbox, "globex")) == ["c-keep"]
    deletes = [r for r in sandbox.requests() if r["method"] == "DELETE"]
    assert [(r["org"], r["status"]) for r in deletes] == [("acme", 204)]


def test_a_backfill_brings_older_conversations_in_live_and_on_a_replay(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    _org(sandbox)
    deployed.connect(TENANT, subdomain="acme", api_key="acme-secret-1")
    worker = deployed.start_worker()
    now = datetime.now(UTC)
    two_days_ago, ten_days_ago = now - timedelta(days=2), now - timedelta(days=10)
    first = deployed.produce([
        new_conversation(TENANT, "c-old", submitter=JANE, assignee=SAM, title="Old",
                         text="From before", at=two_days_ago),
        reply(TENANT, "c-old", "Still there?", sender=JANE, support=False,
              at=two_days_ago + timedelta(minutes=1), message_id="m-old-2"),
        new_conversation(TENANT, "c-ancient", submitter=JANE, assignee=SAM, title="Ancient",
                         text="Long ago", at=ten_days_ago),
    ])  # fmt: skip
    audit = deployed.audit(expected=first)
    assert sorted((a["conversationId"], a["reason"]) for a in audit) == [
        ("c-ancient", "created_before_connect"),
        ("c-old", "conversation_not_synced"),
        ("c-old", "created_before_connect"),
    ]

    since = iso(now - timedelta(days=3))
    answer = deployed.connect(
        TENANT, "--backfill-since", since, subdomain="acme", api_key="acme-secret-1"
    )
    assert datetime.fromisoformat(answer["backfillSince"]) == datetime.fromisoformat(since)
    assert deployed.status(TENANT)["backfillSince"] == answer["backfillSince"]

    # The replay procedure: stop the workers, reset the group's offsets, start them again.
    worker.stop()
    rewind(deployed.bootstrap, deployed.name, deployed.input_topic)
    deployed.start_worker()
    live = deployed.produce([
        new_conversation(TENANT, "c-recent", submitter=JANE, assignee=SAM, title="Recent",
                         text="Yesterday", at=now - timedelta(days=1)),
    ])  # fmt: skip

    audit = deployed.audit(expected=first * 2 + live)
    # One source's records share a key, so the replay's record is read after the first one.
    replayed = [
        (a["conversationId"], a["event"], a["outcome"], a["reason"])
        for a in _finals(audit).values()
    ]
    assert sorted(replayed) == sorted([
        ("c-old", "conversation_created", "synced", None),
        ("c-old", "message_created", "synced", None),
        ("c-ancient", "conversation_created", "skipped", "created_before_connect"),
        ("c-recent", "conversation_created", "synced", None),
    ])  # fmt: skip
    stored = _stored(sandbox, "acme")
    assert set(stored) == {"c-old", "c-recent"}
    assert [m["externalId"] for m in stored["c-old"]["messages"]][1:] == ["m-old-2"]


def test_an_eu_tenant_connects_and_syncs(deployed: Deployment, sandbox: SandboxHandle) -> None:
    _org(sandbox, "acme-eu", "eu-secret-1")
    _org(sandbox)
    eu = deployed.connect("T03EU", "--region", "eu", subdomain="acme-eu", api_key="eu-secret-1")
    assert (eu["region"], eu["subdomain"]) == ("eu", "acme-eu")
    deployed.connect(TENANT, subdomain="acme", api_key="acme-secret-1")
    deployed.start_worker()
    t0 = datetime.now(UTC)
    produced = deployed.produce([
        new_conversation("T03EU", "c-eu", submitter=JANE, assignee=SAM, title="Bonjour",
                         text="EU export fails", at=t0),
        _update("T03EU", "c-eu", created=t0, at=t0 + timedelta(minutes=1), status="closed",
                assignee=SAM, title="Bonjour"),
        new_conversation(TENANT, "c-us", submitter=JANE, assignee=SAM, title="Hello",
                         text="US export fails", at=t0),
    ])  # fmt: skip

    audit = deployed.audit(expected=produced)
    assert [(a["tenantId"], a["outcome"]) for a in audit if a["tenantId"] == "T03EU"] == [
        ("T03EU", "synced"),
        ("T03EU", "synced"),
    ]
    eu_stored = _stored(sandbox, "acme-eu")
    assert list(eu_stored) == ["c-eu"]
    assert eu_stored["c-eu"]["traits"]["unthreadStatus"] == "closed"
    assert list(_stored(sandbox, "acme")) == ["c-us"]
    # Every call the EU tenant made carried its own key, and only that key's org answered it.
    eu_calls = [
        r for r in sandbox.requests() if r["tokenFingerprint"] == fingerprint("eu-secret-1")
    ]
    assert eu_calls and {r["org"] for r in eu_calls} == {"acme-eu"}
    assert deployed.status("T03EU")["region"] == "eu"
