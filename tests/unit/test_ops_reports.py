"""`vitally-sync audit` and `why` on synthetic records: what is counted, in what order, how
it prints. Reading Kafka is in tests/e2e/test_ops_tools.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from aiokafka.partitioner import DefaultPartitioner

from ops.counts import AuditCounts
from ops.entries import ReadEntry, parse_entry, read_entries
from ops.formats import render_counts, render_trail
from ops.reader import RawRecord
from ops.timerange import TimeRange, iso, parse_instant
from ops.trail import conversation_trail, key_partition, partitions_to_read
from schemas.audit_reasons import GUIDE
from tests.unit.ops_records import T0, audit_json

MINUTE = 60_000


def raw(value: bytes, *, offset: int = 0, partition: int = 0, key: bytes = b"c-1") -> RawRecord:
    return RawRecord(key=key, value=value, partition=partition, offset=offset, timestamp=T0)


def entries(*values: bytes) -> list[ReadEntry]:
    return list(read_entries(raw(v, offset=i) for i, v in enumerate(values)))


def sample() -> list[ReadEntry]:
    return entries(
        audit_json(),
        audit_json(event="message_created", message="m-1", at=T0 + MINUTE),
        audit_json(outcome="parked", reason="customer_not_in_vitally", at=T0 + 2 * MINUTE),
        audit_json(outcome="skipped", reason="customer_not_in_vitally", at=T0 + 3 * MINUTE),
        audit_json(tenant="T02BETA", outcome="skipped", reason="private_note", at=T0),
    )


def test_counts_per_tenant_by_outcome_and_reason() -> None:
    counts = AuditCounts(TimeRange()).add_all(sample())
    assert [(r.tenant, r.outcome, r.reason, r.count) for r in counts.rows()] == [
        ("T01ACME", "parked", "customer_not_in_vitally", 1),
        ("T01ACME", "skipped", "customer_not_in_vitally", 1),
        ("T01ACME", "synced", "", 2),
        ("T02BETA", "skipped", "private_note", 1),
    ]
    assert counts.read == 5


def test_counts_keep_to_the_time_range_and_tenant() -> None:
    window = TimeRange(since=T0 + MINUTE, until=T0 + 3 * MINUTE)
    counts = AuditCounts(window, tenant="T01ACME").add_all(sample())
    assert [(r.outcome, r.reason, r.count) for r in counts.rows()] == [
        ("parked", "customer_not_in_vitally", 1),
        ("synced", "", 1),
    ]


def test_a_record_without_processed_at_counts_at_its_kafka_time() -> None:
    legacy = json.loads(audit_json())
    del legacy["processedAt"], legacy["schemaVersion"]
    [entry] = entries(json.dumps(legacy).encode())
    assert entry.time == T0  # the Kafka timestamp
    assert entry.entry.schema_version == 1


def test_reasons_from_a_newer_version_are_counted_not_dropped() -> None:
    newer = json.loads(audit_json(outcome="skipped"))
    newer.update(reason="reason_added_later", schemaVersion=2, fieldAddedLater=1)
    counts = AuditCounts(TimeRange()).add_all(entries(json.dumps(newer).encode()))
    assert [r.reason for r in counts.rows()] == ["reason_added_later"]


@pytest.mark.parametrize("value", [b"", b"not json", b"[]", b'{"tenantId": "T"}', None])
def test_what_is_not_an_audit_record_is_skipped(value: bytes | None) -> None:
    assert parse_entry(value) is None


def test_counts_as_table_csv_and_json() -> None:
    counts = AuditCounts(TimeRange(since=T0)).add_all(sample())
    table = render_counts(counts, "table").splitlines()
    assert table[0].split() == ["tenant", "outcome", "reason", "count"]
    assert table[1].split() == ["T01ACME", "parked", "customer_not_in_vitally", "1"]
    assert table[3].split() == ["T01ACME", "synced", "2"]
    assert table[-1] == "5 audit records from 2025-11-25T10:00:00.000Z to its end (5 read)"
    rows = list(csv.reader(io.StringIO(render_counts(counts, "csv"))))
    assert rows[0] == ["tenant", "outcome", "reason", "count"] and len(rows) == 5
    assert rows[3] == ["T01ACME", "synced", "", "2"]
    report = json.loads(render_counts(counts, "json"))
    assert report["since"] == "2025-11-25T10:00:00.000Z" and report["until"] is None
    acme = report["tenants"][0]
    assert acme["tenantId"] == "T01ACME" and acme["total"] == 4
    assert acme["byOutcome"] == {"parked": 1, "skipped": 1, "synced": 2}
    assert acme["byReason"] == {"customer_not_in_vitally": 2}
    assert {"outcome": "parked", "reason": "customer_not_in_vitally", "count": 1} in acme["counts"]


def test_the_trail_is_the_conversations_records_in_order_with_fixes() -> None:
    found = sample() + entries(audit_json(conversation="c-2"))
    steps = conversation_trail(found, tenant="T01ACME", conversation="c-1")
    assert [(s.outcome, s.reason) for s in steps] == [
        ("synced", None),
        ("synced", None),
        ("parked", "customer_not_in_vitally"),
        ("skipped", "customer_not_in_vitally"),
    ]
    assert steps[2].fix == GUIDE["customer_not_in_vitally"].fix
    assert steps[0].fix is None


def test_a_trail_read_from_several_partitions_is_ordered_by_time() -> None:
    late = raw(audit_json(at=T0 + MINUTE, outcome="skipped", reason="private_note"), partition=0)
    early = raw(audit_json(at=T0), partition=1)
    steps = conversation_trail(read_entries([late, early]), tenant="T01ACME", conversation="c-1")
    assert [s.outcome for s in steps] == ["synced", "skipped"]


def test_trail_as_table_shows_the_fix_under_its_record() -> None:
    steps = conversation_trail(sample(), tenant="T01ACME", conversation="c-1")
    lines = render_trail(steps, "table").splitlines()
    assert lines[0].split() == ["time", "event", "message", "outcome", "reason", "detail"]
    assert lines[2].split() == [iso(T0 + MINUTE), "message_created", "m-1", "synced"]
    assert lines[3].split()[-2:] == ["parked", "customer_not_in_vitally"]
    assert lines[4] == f"    fix: {GUIDE['customer_not_in_vitally'].fix}"
    [step] = json.loads(render_trail(steps[2:3], "json"))
    assert step["fix"] == GUIDE["customer_not_in_vitally"].fix and step["offset"] == 2
    rows = list(csv.reader(io.StringIO(render_trail(steps, "csv"))))
    assert rows[0][-1] == "fix" and rows[3][-1] == GUIDE["customer_not_in_vitally"].fix


def test_upstream_strings_reach_the_terminal_without_control_characters() -> None:
    steps = conversation_trail(
        entries(audit_json(event="conv\x1b[2J\nx")), tenant="T01ACME", conversation="c-1"
    )
    assert "\x1b" not in render_trail(steps, "table")
    assert render_trail(steps, "table").count("\n") == 2


def test_the_partition_follows_the_producers_partitioner_while_the_counts_agree() -> None:
    assert partitions_to_read("c-1", 6, 6) == [key_partition(b"c-1", 6)]
    assert partitions_to_read("c-1", 8, 6) is None  # partitions were added: read all
    assert partitions_to_read("c-1", 6, None) is None  # no input topic to compare with


NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", "2026-12-03T12:00:00.000Z"),
        ("90m", "2026-12-04T10:30:00.000Z"),
        ("7d", "2026-11-27T12:00:00.000Z"),
        ("2026-12-01", "2026-12-01T00:00:00.000Z"),
        ("2026-12-01T10:00:00+01:00", "2026-12-01T09:00:00.000Z"),
        ("2026-12-01T10:00:00Z", "2026-12-01T10:00:00.000Z"),
    ],
)
def test_since_and_until_forms(text: str, expected: str) -> None:
    assert iso(parse_instant(text, NOW)) == expected


def test_an_unreadable_time_says_what_is_accepted() -> None:
    with pytest.raises(ValueError, match="neither an ISO date-time .* nor a duration"):
        parse_instant("yesterday", NOW)


def test_a_trail_since_a_time_leaves_out_what_came_before() -> None:
    window = TimeRange(since=T0 + 2 * MINUTE)
    steps = conversation_trail(sample(), tenant="T01ACME", conversation="c-1", window=window)
    assert [s.outcome for s in steps] == ["parked", "skipped"]


def test_key_partition_agrees_with_aiokafkas_default_partitioner() -> None:
    keys = [b"", b"a", b"ab", b"abc", b"abcd", b"c0f1e2d3-0000-4000-8000-000000000001"]
    keys += [f"conv-{i}".encode() * (i % 7 + 1) for i in range(500)]
    keys += ["caf\u00e9-\u00fcber".encode(), bytes(range(256))]
    for count in (1, 3, 6, 8, 32):
        expected = [DefaultPartitioner()(k, list(range(count)), []) for k in keys]
        assert [key_partition(k, count) for k in keys] == expected
