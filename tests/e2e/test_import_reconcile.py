"""Import on connect and reconciliation, through Unthread's list API (the Unthread sandbox), the
real broker and the Vitally sandbox.

An import of 200 conversations survives its worker being killed midway (the next worker
resumes from the saved progress) with nothing written twice; a message whose webhook the bus
lost is brought in by reconciliation within one interval; messages edited and deleted in
Unthread after they were synced change Vitally within one interval for a tenant that asked for
it, and nothing at all for one that did not.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from demo.events import Record, envelope
from unthread_sandbox.process import UnthreadSandboxHandle
from unthread_sandbox.process import run_sandbox as run_unthread_sandbox

from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01IMPORT"
KEY = "import-unthread-key"
IMPORTED = 200
JANE = {"id": "u-jane", "name": "Jane Doe", "email": "jane@customer.example", "slackId": "U0JANE"}
SAM = {"id": "u-sam", "name": "Sam Agent", "email": "sam@vendor.example", "slackId": "U0SAM"}


@pytest.fixture(scope="module")
def unthread() -> Iterator[UnthreadSandboxHandle]:
    with run_unthread_sandbox() as handle:
        yield handle


def _org(sandbox: SandboxHandle, name: str = "acme") -> None:
    sandbox.add_org(
        name, tokens=[f"{name}-secret-1"], rate_limit=20_000,
        users=[{"email": JANE["email"], "name": JANE["name"]}],
        admins=[{"email": SAM["email"], "name": SAM["name"], "licenseStatus": "active"},
                {"email": "ops@vendor.example", "name": "Ops", "licenseStatus": "active"}],
    )  # fmt: skip


def _conversation(cid: str, at: datetime) -> dict[str, Any]:
    ts = f"{at.timestamp():.6f}"
    return {
        "id": cid, "title": f"Ticket {cid}", "status": "open", "submitterUserId": JANE["id"],
        "assignedToUserId": SAM["id"], "createdAt": at.isoformat(), "updatedAt": at.isoformat(),
        "initialMessage": {"id": f"{cid}-m0", "ts": ts, "text": "It broke",
                           "userId": JANE["slackId"], "timestamp": at.isoformat()},
    }  # fmt: skip


def _walk(deployed: Deployment, tenant: str = TENANT) -> dict[str, Any]:
    return dict(json.loads(deployed.cli("import", "--tenant", tenant).stdout))


def _wait(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def _no_message_twice(stored: list[dict[str, Any]]) -> None:
    conversations = Counter(c["externalId"] for c in stored)
    assert max(conversations.values()) == 1, conversations.most_common(3)
    for conversation in stored:
        messages = Counter(m["externalId"] for m in conversation["messages"])
        assert max(messages.values()) == 1, (conversation["externalId"], messages)


def test_import_survives_a_killed_worker_and_writes_nothing_twice(
    deployed: Deployment, sandbox: SandboxHandle, unthread: UnthreadSandboxHandle
) -> None:
    _org(sandbox)
    start = datetime.now(UTC) - timedelta(days=20)
    conversations = [_conversation(f"imp-{n:03d}", start + timedelta(minutes=n))
                     for n in range(IMPORTED)]  # fmt: skip
    # One older than importSince: not imported.
    conversations.append(_conversation("too-old", start - timedelta(days=30)))
    unthread.add_tenant(TENANT, keys=[KEY], users=[JANE, SAM], conversations=conversations)
    for n in range(IMPORTED):
        at = start + timedelta(minutes=n, seconds=30)
        unthread.post_message(TENANT, f"imp-{n:03d}", id=f"imp-{n:03d}-m1",
                              ts=f"{at.timestamp():.6f}", text="Any news?",
                              userId=SAM["slackId"], sentByUserId=SAM["id"],
                              timestamp=at.isoformat())  # fmt: skip
    deployed.service_env["UNTHREAD_BASE_URL"] = unthread.api_url
    connected = deployed.connect(
        TENANT, "--unthread-api-key", KEY, "--import-since", "30", subdomain="acme",
        api_key="acme-secret-1",
    )  # fmt: skip
    assert connected["importGeneration"] == 1 and connected["importSince"]
    began = time.monotonic()
    # No live traffic here: the walk may take the tenant's whole Unthread budget (by default
    # half, which doubles this test's time; the share is measured in BENCHMARKS.md).
    whole = "1"
    first = deployed.start_worker(SOURCE_WALK_BUDGET_SHARE=whole)
    _wait("the import to get going", lambda: len(sandbox.conversations("acme")) >= 60, 120)
    first.kill()
    at_kill = len(sandbox.conversations("acme"))
    # Its replacement takes over its static membership, so its partitions, at once.
    deployed.start_worker(WORKER_ID="worker-0", SOURCE_WALK_BUDGET_SHARE=whole)

    def finished() -> bool:
        walk = _walk(deployed)["import"]
        return bool(walk) and walk["state"] == "done"

    # Vitally first (an HTTP read), then the walk's state: each look at it is a CLI process,
    # which would take CPU from the worker if polled all along.
    _wait("every conversation in Vitally", lambda: len(sandbox.conversations("acme")) >= IMPORTED,
          240)  # fmt: skip
    _wait("every message in Vitally",
          lambda: sum(len(c["messages"]) for c in sandbox.conversations("acme")) >= 2 * IMPORTED,
          120)  # fmt: skip
    _wait("the import to finish", finished, 60)
    elapsed = time.monotonic() - began
    walk = _walk(deployed)["import"]
    stored = sandbox.conversations("acme")
    assert len(stored) == IMPORTED and "too-old" not in {c["externalId"] for c in stored}
    _no_message_twice(stored)
    assert walk["listed"] == IMPORTED and walk["conversations"] >= IMPORTED
    # The replacement resumed: far fewer than the whole import walked again.
    assert walk["conversations"] < IMPORTED + at_kill, walk

    def by_origin() -> dict[str, int]:
        return dict(deployed.status(TENANT)["syncCounts"]["byOrigin"].get("import", {}))

    def answered() -> int:
        # A write whose audit record the kill cut off is found again by its externalId:
        # duplicate. The counts follow the audit topic, a moment behind Vitally.
        counts = by_origin()
        return counts.get("synced", 0) + counts.get("duplicate", 0)

    _wait("every imported event's audit record counted", lambda: answered() >= 2 * IMPORTED, 60)
    counts = by_origin()
    assert not counts.get("failed"), counts
    print(f"import of {IMPORTED} conversations ({2 * IMPORTED} messages), worker killed at "
          f"{at_kill}: {elapsed:.1f}s; walked {walk['conversations']} conversations, "
          f"{walk['events']} events; audit by outcome {counts}")  # fmt: skip


def _reconciling(
    deployed: Deployment, sandbox: SandboxHandle, unthread: UnthreadSandboxHandle, *suffixes: str,
    flags: dict[str, tuple[str, ...]] | None = None,
) -> list[str]:  # fmt: skip
    """Tenants reconciling every 10 s, with no conversations yet, and one worker running;
    ``flags``: more connect flags for the tenant of that suffix."""
    _org(sandbox)
    deployed.service_env["UNTHREAD_BASE_URL"] = unthread.api_url
    tenants = []
    for suffix in suffixes:
        tenant, key = TENANT + suffix, KEY + suffix
        unthread.add_tenant(tenant, keys=[key], users=[JANE, SAM])
        deployed.connect(
            tenant, "--unthread-api-key", key, "--reconcile-interval-seconds", "10",
            *(flags or {}).get(suffix, ()), subdomain="acme", api_key="acme-secret-1",
        )  # fmt: skip
        tenants.append(tenant)
    deployed.start_worker()
    return tenants


LOSSY_CONVERSATIONS = 40
REPLIES = 3


def _lossy_bus(
    unthread: UnthreadSandboxHandle, tenant: str, rng: random.Random
) -> tuple[list[Record], list[Record], set[str]]:
    """A tenant's conversations and replies in Unthread, their webhook events, the ones a bus
    losing 10% of them at random delivers, and every message id Vitally should end with."""
    base = datetime.now(UTC) + timedelta(seconds=1)
    records: list[Record] = []
    expected: set[str] = set()
    for n in range(LOSSY_CONVERSATIONS):
        cid, at = f"lossy-{n:02d}", base + timedelta(seconds=n)
        conversation = _conversation(cid, at)
        unthread.add_conversation(tenant, **conversation)
        data = {k: v for k, v in conversation.items() if k != "submitterUserId"}
        records.append(Record.of(cid, envelope(tenant, "conversation_created", data, at=at)))
        expected.add(f"{cid}-m0")
        for r in range(1, REPLIES + 1):
            sent = at + timedelta(milliseconds=100 * r)
            message = {"id": f"{cid}-m{r}", "ts": f"{sent.timestamp():.6f}", "text": f"r{r}",
                       "userId": JANE["slackId"], "timestamp": sent.isoformat()}  # fmt: skip
            unthread.post_message(tenant, cid, **message)
            event = envelope(tenant, "message_created", {**message, "conversationId": cid}, at=sent)
            records.append(Record.of(cid, event))
            expected.add(message["id"])
    return records, [r for r in records if rng.random() >= 0.10], expected


def test_reconciliation_brings_in_what_the_bus_lost(
    deployed: Deployment, sandbox: SandboxHandle, unthread: UnthreadSandboxHandle
) -> None:
    """Two tenants reconciling on one worker (one start for both): a reply of one whose webhook
    the bus lost is brought in within one interval; the other's bus loses 10% of its webhook
    events at random (a fixed seed), and the figures say how long until Vitally holds every
    message and what reconciling cost."""
    tenant, lossy = _reconciling(deployed, sandbox, unthread, "R", "L")
    now = datetime.now(UTC) + timedelta(seconds=1)
    live = _conversation("rec-1", now)
    unthread.add_conversation(tenant, **live)
    data = {k: v for k, v in live.items() if k != "submitterUserId"}
    deployed.produce([Record.of("rec-1", envelope(tenant, "conversation_created", data, at=now))])
    rng = random.Random(21)  # noqa: S311 - a reproducible sample, not a secret
    records, delivered, expected = _lossy_bus(unthread, lossy, rng)
    deployed.produce(delivered)
    lossy_began = time.monotonic()

    def created() -> bool:
        audit = deployed.audit(expected=1, timeout=5)
        return any(a["conversationId"] == "rec-1" and a["outcome"] == "synced" for a in audit)

    _wait("the live conversation synced", created, 60)
    # A reply whose webhook the bus lost: only Unthread knows it.
    lost_at = datetime.now(UTC)
    unthread.post_message(tenant, "rec-1", id="rec-1-lost", ts=f"{lost_at.timestamp():.6f}",
                          text="Lost reply", userId=JANE["slackId"],
                          timestamp=lost_at.isoformat())  # fmt: skip
    began = time.monotonic()
    # Both watched at once, so that each figure is when it happened.
    seen: dict[str, float] = {}

    def synced() -> set[str]:
        return {m["externalId"] for c in sandbox.conversations("acme") for m in c["messages"]}

    def caught_up() -> bool:
        messages, now = synced(), time.monotonic()
        if "rec-1-lost" in messages:
            seen.setdefault("lost", now)
        if expected <= messages:
            seen.setdefault("lossy", now)
        return len(seen) == 2

    try:
        _wait("Vitally to match Unthread", caught_up, 10 * 4 + 60)
    except AssertionError:
        missing = (expected | {"rec-1-lost"}) - synced()
        audit = deployed.audit(expected=1, timeout=5)
        about = [
            (
                a["messageId"] or a["conversationId"],
                a["event"],
                a.get("origin"),
                a["outcome"],
                a["reason"],
            )
            for a in audit
            if (a["messageId"] in missing) or (a["conversationId"] + "-m0" in missing)
        ]
        walks = {t: _walk(deployed, t)["reconciliation"] for t in (tenant, lossy)}
        log = deployed.workers[0].log_tail(40)
        raise AssertionError(f"missing {sorted(missing)}: {about}; {walks}\n{log}") from None
    took = seen["lost"] - began
    assert took <= 10 + 20, f"the lost reply took {took:.1f}s"
    lossy_took = seen["lossy"] - lossy_began
    stored = sandbox.conversations("acme")
    _no_message_twice(stored)
    [conversation] = [c for c in stored if c["externalId"] == "rec-1"]
    assert [m["externalId"] for m in conversation["messages"]] == ["rec-1-m0", "rec-1-lost"]
    assert _walk(deployed, tenant)["reconciliation"]["conversations"] >= 1
    print(f"lost message recovered {took:.1f}s after it was posted (interval 10 s)")
    audit = deployed.audit(expected=1, timeout=5)  # everything written so far
    reconciled = [a for a in audit if a["tenantId"] == lossy and a.get("origin") == "reconcile"]
    repaired = [a for a in reconciled if a["outcome"] == "synced"]
    walked = {a["conversationId"] for a in reconciled}
    unthread_calls = unthread.stats(lossy)["requests"]
    vitally_calls = sum(a["apiCalls"] for a in reconciled)
    assert len(repaired) >= len(records) - len(delivered) - 1, (len(repaired), len(records))
    print(f"lossy bus: {len(records) - len(delivered)} of {len(records)} events lost; Vitally "
          f"matched Unthread {lossy_took:.1f}s after the live events were produced (interval "
          f"10 s); {len(walked)} conversations reconciled, {unthread_calls} Unthread calls in all "
          f"(look-ups included), {vitally_calls} Vitally calls by reconciliation "
          f"({vitally_calls / max(len(walked), 1):.2f} per conversation); "
          f"{len(repaired)} events repaired")  # fmt: skip


LIVE_RATE_PER_S = 5
PHASE_S = 10


def test_live_latency_while_another_tenant_imports(
    deployed: Deployment, sandbox: SandboxHandle, unthread: UnthreadSandboxHandle
) -> None:
    """Live events of one tenant at a steady rate, first alone, then while another tenant
    imports 200 conversations: the live latency (audit `processedAt` - `eventTimestamp`)
    of each phase, p50 and p99."""
    _org(sandbox)
    _org(sandbox, "globex")
    live_tenant, importing = TENANT + "LIVE", TENANT + "IMP"
    start = datetime.now(UTC) - timedelta(days=5)
    unthread.add_tenant(
        importing, keys=[KEY + "imp"], users=[JANE, SAM],
        conversations=[_conversation(f"bg-{n:03d}", start + timedelta(minutes=n))
                       for n in range(IMPORTED)],
    )  # fmt: skip
    deployed.service_env["UNTHREAD_BASE_URL"] = unthread.api_url
    deployed.connect(live_tenant, subdomain="acme", api_key="acme-secret-1")
    deployed.start_worker()

    def live_phase(name: str) -> list[str]:
        sent: list[str] = []
        ends = time.monotonic() + PHASE_S
        while time.monotonic() < ends:
            at = datetime.now(UTC)
            cid = f"{name}-{len(sent):03d}"
            data = {k: v for k, v in _conversation(cid, at).items() if k != "submitterUserId"}
            # Whole, as a full webhook carries it: the live tenant gives no Unthread key.
            data["submitterUser"] = JANE
            data["initialMessage"] = {**data["initialMessage"], "user": JANE}
            event = envelope(live_tenant, "conversation_created", data, at=at)
            deployed.produce([Record.of(cid, event)])
            sent.append(cid)
            time.sleep(1 / LIVE_RATE_PER_S)
        return sent

    alone = live_phase("alone")
    deployed.connect(
        importing, "--unthread-api-key", KEY + "imp", "--import-since", "30",
        subdomain="globex", api_key="globex-secret-1",
    )  # fmt: skip
    during_began = time.time() * 1000
    during = live_phase("during")
    during_ended = time.time() * 1000
    expected = len(alone) + len(during)
    audit: list[dict[str, Any]] = []

    def live_audited() -> bool:
        # Every live event's record; the import need not finish (it only has to overlap).
        audit[:] = deployed.audit(expected=1, timeout=5)
        return sum(1 for a in audit if a["tenantId"] == live_tenant) >= expected

    _wait("every live event's audit record", live_audited, 120)
    live = {a["conversationId"]: a for a in audit if a["tenantId"] == live_tenant}
    outcomes = Counter((live[c]["outcome"], live[c]["reason"]) for c in alone + during if c in live)
    assert outcomes == {("synced", None): expected}, outcomes
    imported = [a for a in audit if a["tenantId"] == importing and a["outcome"] == "synced"]
    # The second phase's live events did share the worker with the import.
    assert any(during_began <= a["processedAt"] <= during_ended for a in imported), len(imported)

    def percentiles(ids: list[str]) -> tuple[int, int]:
        waits = sorted(live[c]["processedAt"] - live[c]["eventTimestamp"] for c in ids)
        return waits[len(waits) // 2], waits[min(len(waits) - 1, int(len(waits) * 0.99))]

    p50_alone, p99_alone = percentiles(alone)
    p50_during, p99_during = percentiles(during)
    assert p99_during < 30_000, (p50_during, p99_during)
    print(f"live latency at up to {LIVE_RATE_PER_S}/s: alone p50 {p50_alone} ms p99 {p99_alone} ms "
          f"({len(alone)} events); while another tenant imports ({len(imported)} of its "
          f"conversations synced by then): p50 {p50_during} ms p99 {p99_during} ms "
          f"({len(during)} events)")  # fmt: skip


# More for the figures in BENCHMARKS.md (E2E_REVISED_CONVERSATIONS=120).
REVISED_CONVERSATIONS = int(os.environ.get("E2E_REVISED_CONVERSATIONS", "12"))


def _synced_live(
    deployed: Deployment, unthread: UnthreadSandboxHandle, tenant: str, prefix: str, count: int
) -> set[str]:
    """``count`` conversations of ``tenant`` in Unthread, each with a reply, delivered live;
    the reply ids."""
    # After the connection (reconciling reads nothing older: the worker's start took longer
    # than this second) and in the past, so that an edit is a change after the message's time.
    base = datetime.now(UTC) - timedelta(seconds=1)
    records, replies = [], set()
    for n in range(count):
        cid, at = f"{prefix}-{n:02d}", base + timedelta(milliseconds=5 * n)
        conversation = _conversation(cid, at)
        unthread.add_conversation(tenant, **conversation)
        data = {k: v for k, v in conversation.items() if k != "submitterUserId"}
        records.append(Record.of(cid, envelope(tenant, "conversation_created", data, at=at)))
        sent = at + timedelta(milliseconds=1)
        reply = {"id": f"{cid}-m1", "ts": f"{sent.timestamp():.6f}", "text": "Any news?",
                 "userId": JANE["slackId"], "timestamp": sent.isoformat()}  # fmt: skip
        unthread.post_message(tenant, cid, **reply)
        records.append(
            Record.of(
                cid, envelope(tenant, "message_created", {**reply, "conversationId": cid}, at=sent)
            )
        )
        replies.add(reply["id"])
    deployed.produce(records)
    return replies


def test_edits_and_deletions_in_unthread_reach_vitally_only_when_asked(
    deployed: Deployment, sandbox: SandboxHandle, unthread: UnthreadSandboxHandle
) -> None:
    """One tenant with syncMessageEdits and syncMessageDeletions on, one with them off (the
    default), both reconciling every 10 s: after their conversations synced live, replies are
    edited and deleted in Unthread. The first's Vitally matches Unthread within one interval;
    the second's keeps what was first synced (audited as skipped). Prints how long it took and
    what reconciling cost per conversation."""
    on, off = _reconciling(
        deployed, sandbox, unthread, "EDON", "EDOFF",
        flags={"EDON": ("--sync-message-edits", "on", "--sync-message-deletions", "on")},
    )  # fmt: skip
    replies = _synced_live(deployed, unthread, on, "edon", REVISED_CONVERSATIONS)
    replies |= _synced_live(deployed, unthread, off, "edoff", 2)

    def messages() -> dict[str, str]:
        return {m["externalId"]: m["message"]
                for c in sandbox.conversations("acme") for m in c["messages"]}  # fmt: skip

    _wait("the replies synced live", lambda: replies <= set(messages()), 90)
    edited, removed = set(), set()
    changed_at = time.time() * 1000
    for n in range(REVISED_CONVERSATIONS):
        # Two thirds edited, a third of the replies deleted (every other one of those also
        # edited before its deletion), in the tenant that asked for both.
        cid = f"edon-{n:02d}"
        if n % 3 != 2:
            unthread.edit_message(on, cid, f"{cid}-m1", f"Edited {cid}")
            edited.add(f"{cid}-m1")
        if n % 3 == 2 or n % 6 == 0:
            unthread.delete_message(on, cid, f"{cid}-m1")
            removed.add(f"{cid}-m1")
            edited.discard(f"{cid}-m1")
    for cid in ("edoff-00", "edoff-01"):
        unthread.edit_message(off, cid, f"{cid}-m1", "Edited, not to be synced")
    unthread.delete_message(off, "edoff-01", "edoff-01-m1")
    unthread_before = unthread.stats(on)["requests"]
    began = time.monotonic()

    def matched() -> bool:
        shown = messages()
        return not (removed & set(shown)) and all(
            f"Edited {m[:-3]}" in shown.get(m, "") for m in edited
        )

    try:
        _wait("Vitally to match Unthread's edits and deletions", matched, 10 + 40)
    except AssertionError:
        seen = [(a["messageId"], a["event"], a["outcome"], a["reason"], a["detail"])
                for a in deployed.audit(expected=1, timeout=5)
                if a["tenantId"] == on and a["event"].startswith("message_")]  # fmt: skip
        raise AssertionError(f"not matched: {messages()}; {_walk(deployed, on)}; {seen}") from None
    took = time.monotonic() - began
    assert took <= 10 + 30, f"edits and deletions took {took:.1f}s"
    audit: list[dict[str, Any]] = []

    def off_walked() -> bool:
        audit[:] = deployed.audit(expected=1, timeout=5)
        reasons = {a["reason"] for a in audit if a["tenantId"] == off}
        return {"edits_disabled", "deletions_disabled"} <= reasons

    _wait("the other tenant's edits and deletion to be read", off_walked, 30)
    shown = messages()
    assert shown["edoff-00-m1"] == shown["edoff-01-m1"] == "<p>Any news?</p>"
    revisions = [a for a in audit if a["event"] in ("message_updated", "message_deleted")]
    applied = Counter((a["tenantId"], a["event"], a["outcome"], a["reason"]) for a in revisions)
    # An edit read before its message's deletion may have been applied first: at least these.
    assert applied[(on, "message_updated", "synced", None)] >= len(edited), applied
    assert applied[(on, "message_deleted", "synced", None)] == len(removed), applied
    assert not [a for a in audit if a["tenantId"] == on and a["outcome"] == "failed"]
    _no_message_twice(sandbox.conversations("acme"))
    # What reconciling did once the changes were made (passes before them are not counted).
    reconciled = [a for a in audit if a["tenantId"] == on and a.get("origin") == "reconcile"
                  and a["processedAt"] >= changed_at]  # fmt: skip
    walked = {a["conversationId"] for a in reconciled}
    vitally_calls = sum(a["apiCalls"] for a in reconciled)
    by_event: Counter[str] = Counter()
    for a in reconciled:
        by_event[a["event"]] += a["apiCalls"]
    unthread_calls = unthread.stats(on)["requests"] - unthread_before
    print(f"edits and deletions: {len(edited)} replies edited and {len(removed)} deleted in "
          f"{REVISED_CONVERSATIONS} synced conversations; Vitally matched Unthread {took:.1f}s "
          f"after the changes (interval 10 s); {len(walked)} conversations reconciled, "
          f"{unthread_calls} Unthread calls ({unthread_calls / max(len(walked), 1):.2f} per "
          f"conversation), {vitally_calls} Vitally calls ({vitally_calls / max(len(walked), 1):.2f}"
          f" per conversation: {dict(by_event)}); the tenant with the settings off: nothing "
          f"changed")  # fmt: skip


OUTAGE_CONVERSATIONS = 40


def test_an_unthread_outage_pauses_the_import_and_it_resumes_with_nothing_twice(
    deployed: Deployment, sandbox: SandboxHandle, unthread: UnthreadSandboxHandle
) -> None:
    """Unthread answers 503 for a while in the middle of an import: the import waits, shown
    with the look-ups' reason, and carries on by itself from where it stood once Unthread
    answers again; every conversation and message reaches Vitally once."""
    tenant, key = TENANT + "OUT", KEY + "out"
    _org(sandbox)
    start = datetime.now(UTC) - timedelta(days=3)
    conversations = [_conversation(f"out-{n:02d}", start + timedelta(minutes=n))
                     for n in range(OUTAGE_CONVERSATIONS)]  # fmt: skip
    unthread.add_tenant(tenant, keys=[key], users=[JANE, SAM], conversations=conversations)
    for conversation in conversations:
        at = datetime.fromisoformat(conversation["createdAt"]) + timedelta(seconds=30)
        unthread.post_message(tenant, conversation["id"], id=f"{conversation['id']}-m1",
                              ts=f"{at.timestamp():.6f}", text="Any news?",
                              userId=SAM["slackId"], sentByUserId=SAM["id"],
                              timestamp=at.isoformat())  # fmt: skip
    # Slow enough that the outage lands mid-import.
    unthread.set_faults(tenant, latency_ms=150)
    deployed.service_env["UNTHREAD_BASE_URL"] = unthread.api_url
    deployed.connect(tenant, "--unthread-api-key", key, "--import-since", "30",
                     subdomain="acme", api_key="acme-secret-1")  # fmt: skip
    # A look-up that meets the outage waits 2 s, not a minute, before its next try.
    deployed.start_worker(PARK_MIN_DELAY_SECONDS="2")
    _wait("the import to get going", lambda: len(sandbox.conversations("acme")) >= 5, 60)
    unthread.set_faults(tenant, outage_seconds=12)
    seen: list[dict[str, Any]] = []

    def waiting() -> bool:
        seen.append(_walk(deployed, tenant)["import"])
        return bool(seen[-1]["state"] == "waiting")

    _wait("the import to wait for Unthread", waiting, 20)
    assert seen[-1]["error"] == "unthread_unavailable" and seen[-1]["retryAt"], seen[-1]
    stood = seen[-1]["conversations"]
    assert stood < OUTAGE_CONVERSATIONS
    # The tenant's GET (here `status`) says so too, until Unthread answers again.
    shown = deployed.status(tenant)["import"]
    assert (shown["state"], shown["error"]) == ("waiting", "unthread_unavailable"), shown

    def finished() -> bool:
        walk = _walk(deployed, tenant)["import"]
        return bool(walk) and walk["state"] == "done"

    _wait("every message in Vitally",
          lambda: sum(len(c["messages"]) for c in sandbox.conversations("acme"))
          >= 2 * OUTAGE_CONVERSATIONS, 60)  # fmt: skip
    _wait("the import to finish", finished, 30)
    walk = _walk(deployed, tenant)["import"]
    stored = sandbox.conversations("acme")
    assert len(stored) == OUTAGE_CONVERSATIONS
    _no_message_twice(stored)
    # Resumed where it stood: the conversations walked before the outage are not walked again.
    assert walk["conversations"] == OUTAGE_CONVERSATIONS and walk["error"] is None, walk
    assert walk["failures"] == 0 and stood > 0
