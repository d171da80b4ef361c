"""AuditCounts' recent failures and parked events, from synthetic audit records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integrations import sync_counts
from integrations.kafka_config import KafkaSettings
from integrations.sync_counts import RECENT_FAILURES, AuditCounts
from schemas.audit_reasons import GUIDE
from tests.unit.ops_records import T0, audit_json

TENANT = "T01ACME"


def counts(*records: bytes) -> AuditCounts:
    found = AuditCounts(kafka=KafkaSettings(kafka_bootstrap_servers="unused:9092"), topic="audit")
    for record in records:
        found.add(record)
    return found


def parked(found: AuditCounts, tenant: str = TENANT) -> dict[str, Any]:
    shown: dict[str, Any] = found.attention(tenant)["parked"]
    return shown


def failures(found: AuditCounts, tenant: str = TENANT) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = found.attention(tenant)["recentFailures"]
    return shown


def test_a_tenant_without_records_has_nothing_to_show() -> None:
    assert counts().attention(TENANT) == {
        "recentFailures": [], "parked": {"count": 0, "truncated": False, "events": []},
    }  # fmt: skip


def test_a_parked_event_is_shown_until_its_final_record() -> None:
    found = counts(
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
    found.add(audit_json(conversation="c-2", outcome="duplicate", reason="already_parked",
                         offset=2, at=T0 + 2000))  # fmt: skip
    assert parked(found)["count"] == 1
    found.add(audit_json(conversation="c-2", outcome="synced", offset=2, at=T0 + 3000))
    assert parked(found) == {"count": 0, "truncated": False, "events": []}
    assert failures(found) == []


def test_a_parked_event_whose_reason_changes_is_shown_once_with_the_latest() -> None:
    found = counts(
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
    found.add(audit_json(outcome="failed", reason="vitally_rejected", offset=5, at=T0 + 90_000))
    assert parked(found)["count"] == 0
    assert [f["source"]["offset"] for f in failures(found)] == [5]


def test_parked_events_are_bounded_and_flagged_truncated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync_counts, "PARKED_TRACKED", 3)
    monkeypatch.setattr(sync_counts, "PARKED_SHOWN", 2)
    found = counts(*(
        audit_json(conversation=f"c-{n}", outcome="parked", reason="vitally_rate_limited",
                   offset=n, at=T0 + 1000 * (5 - n))
        for n in range(3)
    ))  # fmt: skip
    shown = parked(found)
    assert (shown["count"], shown["truncated"]) == (3, False)
    # The longest waiting first.
    assert [e["source"]["offset"] for e in shown["events"]] == [2, 1]
    found.add(audit_json(outcome="parked", reason="vitally_rate_limited", offset=9))
    shown = parked(found)
    assert (shown["count"], shown["truncated"]) == (3, True)
    # A tracked one changing its reason is still followed.
    found.add(audit_json(outcome="parked", reason="worker_handover", offset=2, at=T0 + 9000))
    assert [e["reason"] for e in parked(found)["events"]] == ["vitally_rate_limited"] * 2
    found.add(audit_json(outcome="synced", offset=0))
    assert parked(found)["count"] == 2


def test_recent_failures_are_newest_first_capped_and_once_per_source() -> None:
    records = [
        audit_json(outcome="failed", reason="internal_error", detail="KeyError", offset=n,
                   at=T0 + 1000 * n)
        for n in range(RECENT_FAILURES + 5)
    ]  # fmt: skip
    # Read out of time order, as partitions are read one after the other.
    found = counts(*records[10:], *records[:10])
    shown = failures(found)
    assert [f["source"]["offset"] for f in shown] == list(range(RECENT_FAILURES + 4, 4, -1))
    assert shown[0]["fix"] == GUIDE["internal_error"].fix and shown[0]["detail"] == "KeyError"
    # Sent again after a crash: shown once.
    found.add(records[-1])
    assert [f["source"]["offset"] for f in failures(found)][:2] == [
        RECENT_FAILURES + 4, RECENT_FAILURES + 3,
    ]  # fmt: skip
    assert len(failures(found)) == RECENT_FAILURES


def test_only_skips_an_operator_can_act_on_are_failures() -> None:
    found = counts(
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


def test_other_tenants_are_kept_apart() -> None:
    found = counts(
        audit_json(tenant="T02OTHER", outcome="parked", reason="vitally_unavailable", offset=1),
        audit_json(tenant="T02OTHER", outcome="failed", reason="internal_error", offset=2),
        # The same source under another tenant does not resolve the other tenant's event.
        audit_json(outcome="synced", offset=1),
    )  # fmt: skip
    assert counts().attention(TENANT) == found.attention(TENANT)
    assert parked(found, "T02OTHER")["count"] == 1
    assert len(failures(found, "T02OTHER")) == 1


def test_only_the_listed_fields_are_kept_and_odd_records_do_not_break_it() -> None:
    record = json.loads(audit_json(outcome="failed", reason="vitally_rejected", offset=3))
    record |= {"text": "secret message text", "apiKey": "k", "detail": "d" * 2000}
    odd = [
        {**record, "source": {"topic": "in", "partition": "0", "offset": 1}},
        {**record, "source": None},
        {**record, "source": {"topic": "in", "partition": True, "offset": 1}},
        {**record, "conversationId": {"nested": 1}, "processedAt": "yesterday",
         "source": {"topic": "in", "partition": 1, "offset": 4}},
    ]  # fmt: skip
    found = counts(json.dumps(record).encode(), *(json.dumps(o).encode() for o in odd))
    text = json.dumps(found.attention(TENANT))
    assert "secret" not in text and "apiKey" not in text
    first, second = failures(found)
    assert len(first["detail"]) == sync_counts.DETAIL_CHARS
    assert (second["conversationId"], second["processedAt"]) == (None, None)
    assert set(first) == {"outcome", "reason", "detail", "fix", "conversationId", "messageId",
                          "event", "source", "processedAt"}  # fmt: skip
    assert found.for_tenant(TENANT)["total"] == 5  # still counted
