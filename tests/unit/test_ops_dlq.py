"""``vitally-sync dlq``'s choice of dead letters and what it prints, without Kafka."""

from __future__ import annotations

import json

from ops.dlq import Letter, Redrive, Selection, read_letters
from ops.formats import render_letters, render_redrives
from ops.reader import RawRecord
from ops.timerange import TimeRange
from schemas.dead_letter import Failure, Origin
from streams.dead_letters import dead_letter_record

ORIGIN = Origin("in", 2, 40)


def _letter(reason: str, tenant: str | None, failed_at: int, offset: int = 0) -> Letter:
    failure = Failure(reason, "why", "sync", "E", 1, failed_at, failed_at, tenant)
    record = dead_letter_record(b"c1", b"{}", [], ORIGIN, failure, max_bytes=1_000_000)
    raw = RawRecord(record.key, record.value, 0, offset, 5, tuple(record.headers))
    return next(read_letters([raw]))


def test_selection_by_reason_tenant_and_time_of_failure() -> None:
    letters = [
        _letter("vitally_rejected", "T1", 1_000, 0),
        _letter("internal_error", "T1", 2_000, 1),
        _letter("vitally_rejected", "T2", 3_000, 2),
    ]
    by_reason = Selection(reasons=frozenset({"vitally_rejected"}))
    assert [f.offset for f in letters if f in by_reason] == [0, 2]
    assert [f.offset for f in letters if f in Selection(tenant="T1")] == [0, 1]
    window = Selection(window=TimeRange(since=1_500, until=3_000))
    assert [f.offset for f in letters if f in window] == [1]


def test_a_first_version_dead_letter_takes_its_tenant_from_the_envelope() -> None:
    headers = (("x-source-topic", b"in"), ("x-source-partition", b"1"), ("x-source-offset", b"3"))
    raw = RawRecord(b"c", b'{"tenantId": "T9"}', 0, 0, 77, headers)
    [found] = read_letters([raw])
    assert found.tenant_id == "T9" and found.time == 77  # no failure time: Kafka's


def test_list_never_prints_the_value_and_redrive_says_it_is_a_dry_run() -> None:
    found = _letter("vitally_rejected", "T1", 1_000)
    assert "{}" not in render_letters([found], "table").split("\n", 1)[1]
    assert json.loads(render_letters([found], "json"))[0]["source"] == "in/2/40"
    plan = Redrive(found, "in", 2, b"c1", b"{}", java_partition=5)
    text = render_redrives([plan], None, "table")
    assert "in/2" in text and "would pick partition 5" in text
    assert text.endswith("dry run: nothing produced; 1 of 1 would be re-driven (add --execute)\n")
    assert "in/2/17" in render_redrives([plan], {0: 17}, "table")
