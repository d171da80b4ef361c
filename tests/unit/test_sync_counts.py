"""Sync counts, recent failures and parked events, from synthetic audit records counted by the
worker that writes them and read back from its summaries (tests/unit/summary_pipe.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integrations import sync_counts
from integrations.audit_summary import SummaryWriter
from integrations.sync_counts import RECENT_FAILURES
from schemas.audit_reasons import GUIDE
from tests.unit.ops_records import T0, audit_json
from tests.unit.summary_pipe import SummaryPipe

TENANT = "T01ACME"


async def counts(*records: bytes) -> SummaryPipe:
    found = SummaryPipe()
    await found.add(*records)
    return found


def parked(found: SummaryPipe, tenant: str = TENANT) -> dict[str, Any]:
    shown: dict[str, Any] = found.attention(tenant)["parked"]
    return shown


def failures(found: SummaryPipe, tenant: str = TENANT) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = found.attention(tenant)["recentFailures"]
    return shown


async def test_a_tenant_without_records_has_nothing_to_show() -> None:
    assert (await counts()).attention(TENANT) == {
        "recentFailures": [], "parked": {"count": 0, "truncated": False, "events": []},
    }  # fmt: skip


async def test_a_parked_event_is_shown_until_its_final_record() -> None:
    found = await counts(
        audit_json(outcome="synced", offset=1),
        audit_json(conversation="c-2", message="m-2", event="message_created", outcome="parked",
                   reason="vitally_unavailable", detail="vitally_timeout POST /resources/messages",
                   offset=2, at=T0 + 1000),
    )  # fmt: skip
    assert parked(found) == {"count": 1, "truncated": False, "events": [{
        "outcome": "parked", "reason": "vitally_unavailable",
        "detail": "vitally_timeout POST /resources/messages",
        "fix": GUIDE["vitally_unavailable"].fix, "conversationId": "c-2", "messageId": "m-2",
        "event": "message_created", "source": {"topic": "in", "partition": 0, "offset": 2},
        "processedAt": "2025-11-25T10:00:01+00:00",
    }]}  # fmt: skip
    # Delivered again while it waits: still parked.
    await found.add(audit_json(conversation="c-2", outcome="duplicate", reason="already_parked",
                         offset=2, at=T0 + 2000))  # fmt: skip
    assert parked(found)["count"] == 1
    await found.add(audit_json(conversation="c-2", outcome="synced", offset=2, at=T0 + 3000))
    assert parked(found) == {"count": 0, "truncated": False, "events": []}
    assert failures(found) == []


async def test_a_parked_event_whose_reason_changes_is_shown_once_with_the_latest() -> None:
    found = await counts(
        audit_json(outcome="parked", reason="tenant_backlogged", offset=5),
        audit_json(outcome="parked", reason="integration_needs_attention",
                   detail="vitally_auth_failed", offset=5, at=T0 + 60_000),
    )  # fmt: skip
    [event] = parked(found)["events"]
    assert (event["reason"], event["detail"], event["processedAt"]) == (
        "integration_needs_attention", "vitally_auth_failed", "2025-11-25T10:01:00+00:00",
    )  # fmt: skip
    assert event["fix"] == GUIDE["integration_needs_attention"].fix
    # Resolved as a failure: no longer parked, now a recent failure.
    await found.add(
        audit_json(outcome="failed", reason="vitally_rejected", offset=5, at=T0 + 90_000)
    )
    assert parked(found)["count"] == 0
    assert [f["source"]["offset"] for f in failures(found)] == [5]


async def test_parked_events_are_bounded_and_flagged_truncated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sync_counts, "PARKED_TRACKED", 3)
    monkeypatch.setattr(sync_counts, "PARKED_SHOWN", 2)
    found = await counts(*(
        audit_json(conversation=f"c-{n}", outcome="parked", reason="vitally_rate_limited",
                   offset=n, at=T0 + 1000 * (5 - n))
        for n in range(3)
    ))  # fmt: skip
    shown = parked(found)
    assert (shown["count"], shown["truncated"]) == (3, False)
    # The longest waiting first.
    assert [e["source"]["offset"] for e in shown["events"]] == [2, 1]
    await found.add(audit_json(outcome="parked", reason="vitally_rate_limited", offset=9))
    shown = parked(found)
    assert (shown["count"], shown["truncated"]) == (3, True)
    # A tracked one changing its reason is still followed.
    await found.add(audit_json(outcome="parked", reason="worker_handover", offset=2, at=T0 + 9000))
    assert [e["reason"] for e in parked(found)["events"]] == ["vitally_rate_limited"] * 2
    await found.add(audit_json(outcome="synced", offset=0))
    assert parked(found)["count"] == 2


async def test_recent_failures_are_newest_first_capped_and_once_per_source() -> None:
    records = [
        audit_json(outcome="failed", reason="internal_error", detail="KeyError", offset=n,
                   at=T0 + 1000 * n)
        for n in range(RECENT_FAILURES + 5)
    ]  # fmt: skip
    # Read out of time order, as partitions are read one after the other.
    found = await counts(*records[10:], *records[:10])
    shown = failures(found)
    assert [f["source"]["offset"] for f in shown] == list(range(RECENT_FAILURES + 4, 4, -1))
    assert shown[0]["fix"] == GUIDE["internal_error"].fix and shown[0]["detail"] == "KeyError"
    # Sent again after a crash: shown once.
    await found.add(records[-1])
    assert [f["source"]["offset"] for f in failures(found)][:2] == [
        RECENT_FAILURES + 4, RECENT_FAILURES + 3,
    ]  # fmt: skip
    assert len(failures(found)) == RECENT_FAILURES


async def test_only_skips_an_operator_can_act_on_are_failures() -> None:
    found = await counts(
        audit_json(outcome="skipped", reason="private_note", offset=1),
        audit_json(outcome="skipped", reason="integration_not_connected", offset=2),
        audit_json(outcome="skipped", reason="conversation_not_synced", offset=3),
        audit_json(outcome="skipped", reason="customer_not_in_vitally",
                   detail="jane@customer.example", offset=4, at=T0 + 1),
        audit_json(outcome="skipped", reason="unthread_key_missing", offset=5, at=T0 + 2),
        audit_json(outcome="duplicate", reason="already_synced", offset=6),
        audit_json(outcome="parked", reason="vitally_unavailable", offset=7),
    )  # fmt: skip
    shown = failures(found)
    assert [(f["outcome"], f["reason"]) for f in shown] == [
        ("skipped", "unthread_key_missing"), ("skipped", "customer_not_in_vitally"),
    ]  # fmt: skip


async def test_other_tenants_are_kept_apart() -> None:
    found = await counts(
        audit_json(tenant="T02OTHER", outcome="parked", reason="vitally_unavailable", offset=1),
        audit_json(tenant="T02OTHER", outcome="failed", reason="internal_error", offset=2),
        # The same source under another tenant does not resolve the other tenant's event.
        audit_json(outcome="synced", offset=1),
    )  # fmt: skip
    assert (await counts()).attention(TENANT) == found.attention(TENANT)
    assert parked(found, "T02OTHER")["count"] == 1
    assert len(failures(found, "T02OTHER")) == 1


async def test_only_the_listed_fields_are_kept_and_odd_summaries_do_not_break_it() -> None:
    record = json.loads(audit_json(outcome="failed", reason="vitally_rejected", offset=3))
    record |= {"text": "secret message text", "apiKey": "k", "detail": "d" * 2000}
    found = await counts(json.dumps(record).encode())
    for key, value in [(b"T01ACME/1", b"not json"), (b"T01ACME/2", b"[]"),
                       (b"T01ACME/3", b'{"tenantId": "T01ACME"}'), (None, None),
                       (b"T01ACME/x", None)]:  # fmt: skip
        found.reader.add(key, value)
    text = json.dumps(found.attention(TENANT))
    assert "secret" not in text and "apiKey" not in text
    assert b"secret" not in found.published[0][1]
    [first] = failures(found)
    assert len(first["detail"]) == sync_counts.DETAIL_CHARS
    assert set(first) == {"outcome", "reason", "detail", "fix", "conversationId", "messageId",
                          "event", "source", "processedAt"}  # fmt: skip
    assert found.for_tenant(TENANT)["total"] == 1


def at(partition: int, **fields: Any) -> bytes:
    record = json.loads(audit_json(**fields))
    record["source"]["partition"] = partition
    return json.dumps(record).encode()


async def test_a_tenant_is_added_up_over_its_partitions() -> None:
    found = await counts(
        at(0, outcome="synced", offset=1, at=T0 + 5000),
        at(1, outcome="synced", offset=1),
        at(1, outcome="parked", reason="vitally_unavailable", offset=2, at=T0 + 1000),
        at(2, outcome="failed", reason="internal_error", offset=3, at=T0 + 2000),
        at(3, tenant="T02OTHER", outcome="synced", offset=1),
    )
    assert sorted(key for key, _ in found.published) == [
        b"T01ACME/0", b"T01ACME/1", b"T01ACME/2", b"T02OTHER/3",
    ]  # fmt: skip
    shown = found.for_tenant(TENANT)
    assert (shown["total"], shown["byOutcome"]) == (4, {"synced": 2, "parked": 1, "failed": 1})
    assert shown["since"] == "2025-11-25T10:00:00+00:00"
    assert parked(found)["count"] == 1 and len(failures(found)) == 1
    # Only what changed is published again.
    found.published.clear()
    await found.add(at(2, outcome="synced", offset=4))
    assert [key for key, _ in found.published] == [b"T01ACME/2"]
    assert found.for_tenant(TENANT)["total"] == 5


async def test_a_partition_taken_over_carries_on_from_its_last_published_counts() -> None:
    old = await counts(
        at(5, outcome="synced", offset=1),
        at(5, outcome="parked", reason="vitally_unavailable", offset=2),
    )
    published: list[tuple[bytes, bytes]] = []

    async def publish(key: bytes, value: bytes) -> None:
        published.append((key, value))
        old.reader.add(key, value)

    await old.writer.release([5])  # revoked: its last counts are out
    new = SummaryWriter(publish, now_ms=lambda: T0)
    new.begin([5])
    # Handled before the summary was read up to the end: it waits, and counts after the base.
    new.add(json.loads(at(5, outcome="synced", offset=2, at=T0 + 9000)))
    await new.publish()
    assert published == []
    new.adopt(5, old.reader.of_partition(5))
    await new.publish()
    [(key, _)] = published
    assert key == b"T01ACME/5"
    shown = old.for_tenant(TENANT)
    assert (shown["total"], shown["byOutcome"]) == (3, {"synced": 2, "parked": 1})
    assert parked(old)["count"] == 0  # resolved by the new owner
    # Records of a partition no longer owned are not counted (no other worker's key is
    # written over).
    await new.release([5])
    new.add(json.loads(at(5, outcome="synced", offset=3)))
    published.clear()
    await new.publish()
    assert published == []


async def test_counts_kafka_did_not_take_are_published_again_later() -> None:
    published: list[bytes] = []
    failing = True

    async def publish(key: bytes, value: bytes) -> None:
        if failing:
            raise TimeoutError("no broker")
        published.append(key)

    writer = SummaryWriter(publish, now_ms=lambda: T0)
    writer.begin([0, 1])
    writer.adopt(0, {})
    writer.adopt(1, {})
    writer.add(json.loads(at(0, outcome="synced", offset=1)))
    writer.add(json.loads(at(1, outcome="synced", offset=1)))
    await writer.publish()  # logged, not raised: a timer must not crash the worker
    assert published == []
    failing = False
    await writer.publish()
    assert published == [b"T01ACME/0", b"T01ACME/1"]


async def test_the_last_day_and_last_sync_come_from_the_summaries_bounded() -> None:
    hour = sync_counts.HOUR_MS
    now = T0 + 30 * hour
    found = SummaryPipe(clock=lambda: now / 1000)
    await found.add(
        at(0, outcome="synced", offset=1, at=now - 30 * hour),  # more than a day ago
        at(0, outcome="synced", offset=2, at=now - 24 * hour),  # the oldest hour still in
        at(1, outcome="failed", reason="vitally_rejected", offset=3, at=now),
        at(1, outcome="synced", offset=4, at=now - hour),
        at(2, tenant="T02OTHER", outcome="synced", offset=5, at=now),
    )
    assert found.recent(TENANT) == {
        "lastDay": {"synced": 2, "failed": 1},
        "lastSyncedAt": "2025-11-26T15:00:00+00:00",
    }
    assert found.recent("T-none") == {"lastDay": {}, "lastSyncedAt": None}
    # The value stays bounded: a month of hourly records keeps the newest 25 hours.
    await found.add(*(at(0, outcome="synced", offset=10 + h, at=now - h * hour)
                      for h in range(24 * 30)))  # fmt: skip
    value = json.loads(dict(found.published)[b"T01ACME/0"])
    assert len(value["lastDayHours"]) == sync_counts.DAY_HOURS + 1
    assert value["lastDayHours"][0] == {"hour": now // hour * hour, "byOutcome": {"synced": 1}}
    assert value["lastSyncedAt"] == now
    # A partition's new owner carries them on; a value written before them reads as none.
    assert found.reader.of_partition(0)[TENANT].recent(now)["lastDay"] == {"synced": 26}
    del value["lastDayHours"], value["lastSyncedAt"]
    found.reader.add(b"T01ACME/0", json.dumps(value).encode())
    assert found.recent(TENANT)["lastDay"] == {"synced": 1, "failed": 1}
