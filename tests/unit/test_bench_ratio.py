"""The bench's ratio table: each worker row against the pass-through of its run, and with
``--against`` this checkout's rows against that commit's."""

from __future__ import annotations

from bench.checks import CheckResult
from bench.report import ratio_table
from bench.runner import Calls, Result


def result(scenario: str, system: str, cpu_seconds: float, seconds: float = 10.0) -> Result:
    return Result(
        scenario=scenario, system=system, events=1000, finished=1000, seconds=seconds,
        calls=Calls(1050), steady_calls_per_event=1.0, latencies_ms=[], latency_basis="write",
        checks=CheckResult(0, 0, 0), peak_rss_bytes=0, cpu_seconds=cpu_seconds, outcomes={},
        audit_duplicates=0, parked=0, stalled_lag=None, rate_limit=None, tenants=8,
    )  # fmt: skip


def test_rows_against_the_pass_through_and_the_other_commit() -> None:
    rows = ratio_table(
        [
            result("latency0", "vitally-sync @649e497", cpu_seconds=2.0, seconds=10.0),
            result("latency0", "vitally-sync", cpu_seconds=1.5, seconds=8.0),
            result("latency0", "passthrough", cpu_seconds=0.25),
            result("takeover", "vitally-sync (backlog)", cpu_seconds=3.0),
        ]
    ).splitlines()
    assert rows[2] == "| latency0 | vitally-sync @649e497 | 100.0 | 2.00 | 8.00x | - | - |"
    assert rows[3] == "| latency0 | vitally-sync | 125.0 | 1.50 | 6.00x | -25% | +25% |"
    # No pass-through in that scenario, no other commit: nothing to compare with.
    assert rows[4] == "| takeover | vitally-sync (backlog) | 100.0 | 3.00 | - | - | - |"
    assert len(rows) == 5


def test_no_worker_row_no_table() -> None:
    assert ratio_table([result("latency50", "naive", 1.0), result("x", "passthrough", 1.0)]) == ""
