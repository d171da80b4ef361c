"""The figures as a Markdown table (readable in a terminal, pasteable into BENCHMARKS.md),
and each of the issue's targets checked against them."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.runner import Result

HEADER = (
    "scenario", "system", "events", "events/s", "calls/event", "steady calls/event",
    "p50 ms", "p99 ms", "429s", "parked", "order viol.", "duplicates", "lost", "peak RSS MiB",
    "CPU ms/event",
)  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    target: str
    figure: str
    met: bool


def table(results: Sequence[Result]) -> str:
    rows = [HEADER, tuple("---" for _ in HEADER)]
    rows += [_row(r) for r in results]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _row(r: Result) -> tuple[str, ...]:
    vitally = r.latency_basis == "write"
    return (
        r.scenario,
        r.system,
        f"{r.finished}/{r.events}",
        f"{r.events_per_s:.1f}",
        f"{r.calls_per_event:.3f}" if vitally else "-",
        _num(r.steady_calls_per_event, 3) if vitally else "-",
        _num(r.p50_ms, 0) + ("" if vitally else "*"),
        _num(r.p99_ms, 0) + ("" if vitally else "*"),
        str(r.calls.throttled) if vitally else "-",
        str(r.parked) if vitally else "-",
        str(r.checks.order_violations),
        str(r.checks.duplicates),
        str(r.lost),
        f"{r.peak_rss_bytes / 2**20:.0f}",
        f"{r.cpu_ms_per_event:.2f}",
    )


ENRICHMENT_HEADER = (
    "scenario", "system", "events", "events/s", "CPU ms/event", "Unthread calls",
    "minimum calls", "Unthread calls/event", "second half calls/event",
    "repeat calls/event",
)  # fmt: skip


def enrichment_table(results: Sequence[Result]) -> str:
    """Sparse runs against the full ones of their scenario: Unthread calls and cost.

    "minimum calls": one per conversation and person (a perfect cache); "second half": calls
    per event over the second half of the audit records (first lookups of conversations and
    people first met there included); "repeat": calls beyond the minimum, per event, i.e.
    what an event costs once its conversation and people have been looked up (steady state).
    """
    sparse_scenarios = {r.scenario for r in results if r.unthread_calls is not None}
    if not sparse_scenarios:
        return ""
    rows = [ENRICHMENT_HEADER, tuple("---" for _ in ENRICHMENT_HEADER)]
    for r in results:
        if r.scenario not in sparse_scenarios:
            continue
        rows.append(
            (
                r.scenario,
                r.system,
                f"{r.finished}/{r.events}",
                f"{r.events_per_s:.1f}",
                f"{r.cpu_ms_per_event:.2f}",
                "-" if r.unthread_calls is None else str(r.unthread_calls),
                "-" if r.unthread_minimum is None else str(r.unthread_minimum),
                "-" if r.unthread_calls is None else _num(r.unthread_calls_per_event, 3),
                "-" if r.unthread_calls is None else _num(r.steady_unthread_calls_per_event, 3),
                "-" if r.unthread_calls is None else _num(r.repeat_unthread_calls_per_event, 3),
            )
        )
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


RATIO_HEADER = (
    "scenario", "system", "events/s", "CPU ms/event", "CPU x pass-through",
    "A/B CPU/event", "A/B events/s",
)  # fmt: skip


def ratio_table(results: Sequence[Result]) -> str:
    """Each worker row against the pass-through agent of the same run (CPU per event, the
    figure that moves least on a shared machine), and, with ``--against``, this checkout's
    rows against that commit's (the change in per cent)."""
    rows = [RATIO_HEADER, tuple("---" for _ in RATIO_HEADER)]
    for r in results:
        if r.system in ("naive", "passthrough"):
            continue
        ceiling = _find(results, r.scenario, "passthrough")
        base = None if _AGAINST.search(r.system) else _baseline_of(results, r)
        rows.append(
            (
                r.scenario,
                r.system,
                f"{r.events_per_s:.1f}",
                f"{r.cpu_ms_per_event:.2f}",
                _ratio(r.cpu_ms_per_event, ceiling.cpu_ms_per_event if ceiling else None),
                _change(r.cpu_ms_per_event, base.cpu_ms_per_event if base else None),
                _change(r.events_per_s, base.events_per_s if base else None),
            )
        )
    if len(rows) == 2:
        return ""
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


_AGAINST = re.compile(r" @[0-9a-f]+")


def _find(results: Sequence[Result], scenario: str, system: str) -> Result | None:
    return next((r for r in results if r.scenario == scenario and r.system == system), None)


def _baseline_of(results: Sequence[Result], current: Result) -> Result | None:
    """The other commit's row of the same run (``--against``), if any."""
    return next(
        (
            r
            for r in results
            if r.scenario == current.scenario
            and _AGAINST.search(r.system)
            and _AGAINST.sub("", r.system) == current.system
        ),
        None,
    )


def _ratio(value: float, of: float | None) -> str:
    return f"{value / of:.2f}x" if of else "-"


def _change(value: float, before: float | None) -> str:
    return f"{(value - before) / before:+.0%}" if before else "-"


def _num(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def verdicts(results: Sequence[Result]) -> list[Verdict]:
    found = {(r.scenario, r.system): r for r in results}
    out: list[Verdict] = []
    naive, sync50 = found.get(("latency50", "naive")), found.get(("latency50", "vitally-sync"))
    if naive and sync50 and naive.events_per_s > 0:
        ratio = sync50.events_per_s / naive.events_per_s
        out.append(Verdict("50 ms latency: >= 20x the naive baseline's events/s",
                           f"{ratio:.1f}x ({sync50.events_per_s:.1f} vs {naive.events_per_s:.1f})",
                           ratio >= 20))  # fmt: skip
    sync0, ceiling = found.get(("latency0", "vitally-sync")), found.get(("latency0", "passthrough"))
    if sync0 and ceiling and ceiling.events_per_s > 0:
        share = sync0.events_per_s / ceiling.events_per_s
        out.append(Verdict("0 ms latency: >= 50% of the pass-through agent's events/s",
                           f"{share:.0%} ({sync0.events_per_s:.1f} vs {ceiling.events_per_s:.1f})",
                           share >= 0.5))  # fmt: skip
    for r in results:
        if r.system == "vitally-sync" and r.rate_limit is None:
            steady = r.steady_calls_per_event
            out.append(Verdict(f"{r.scenario}: steady state <= 1.1 Vitally calls per event",
                               _num(steady, 3), steady is not None and steady <= 1.1))  # fmt: skip
        if r.budget_used is not None:
            out.append(Verdict(f"{r.scenario}: >= 90% of the tenant's request budget used",
                               f"{r.budget_used:.1%} of {r.rate_limit}/min",
                               r.budget_used >= 0.9))  # fmt: skip
            throttled = f"{r.throttled_share:.2%} ({r.calls.throttled} of {r.calls.requests})"
            out.append(Verdict(f"{r.scenario}: 429 responses <= 1% of calls", throttled,
                               r.throttled_share <= 0.01))  # fmt: skip
        if r.unthread_calls is not None:
            repeat = r.repeat_unthread_calls_per_event
            figure = (
                f"{_num(repeat, 3)} beyond the first lookup of each conversation and "
                f"person ({r.unthread_calls} calls, {r.unthread_minimum} first lookups); "
                f"second half {_num(r.steady_unthread_calls_per_event, 3)}"
            )
            out.append(Verdict(f"{r.scenario}: steady state < 0.1 Unthread calls per event",
                               figure, repeat is not None and repeat < 0.1))  # fmt: skip
        out.append(Verdict(f"{r.scenario}/{r.system}: no order violations, duplicates, losses",
                           f"{r.checks.order_violations}/{r.checks.duplicates}/{r.lost}",
                           r.checks.clean and r.lost == 0))  # fmt: skip
    return out


def notes(results: Sequence[Result]) -> str:
    """What the table cannot show: runs that stalled, and where."""
    lines = []
    for r in results:
        if r.stalled_lag is not None:
            lag = ", ".join(f"p{p}: {n}" for p, n in sorted(r.stalled_lag.items())) or "none"
            lines.append(
                f"! {r.scenario}/{r.system} stalled: {r.events - r.finished} input records "
                f"without a final audit record; uncommitted records by partition: {lag}"
            )
    return "\n".join(lines)


def verdict_lines(items: Sequence[Verdict]) -> str:
    return "\n".join(f"[{'met' if v.met else 'MISSED'}] {v.target}: {v.figure}" for v in items)


def as_json(results: Sequence[Result]) -> str:
    return json.dumps([_result_json(r) for r in results], indent=2)


def _result_json(r: Result) -> dict[str, Any]:
    return {
        "scenario": r.scenario,
        "system": r.system,
        "events": r.events,
        "finished": r.finished,
        "seconds": round(r.seconds, 3),
        "eventsPerSecond": round(r.events_per_s, 2),
        "calls": r.calls.requests,
        "callsPerEvent": round(r.calls_per_event, 4),
        "steadyCallsPerEvent": r.steady_calls_per_event,
        "latencyBasis": r.latency_basis,
        "p50Ms": r.p50_ms,
        "p99Ms": r.p99_ms,
        "throttled": r.calls.throttled,
        "throttledShare": r.throttled_share,
        "rateLimitPerMinute": r.rate_limit,
        "budgetUsed": r.budget_used,
        "orderViolations": r.checks.order_violations,
        "duplicates": r.checks.duplicates,
        "lost": r.lost,
        "auditRedeliveries": r.audit_duplicates,
        "parked": r.parked,
        "stalledLag": r.stalled_lag,
        "outcomes": r.outcomes,
        "peakRssBytes": r.peak_rss_bytes,
        "cpuMsPerEvent": r.cpu_ms_per_event,
        "unthreadCalls": r.unthread_calls,
        "unthreadCallsPerEvent": r.unthread_calls_per_event,
        "steadyUnthreadCallsPerEvent": r.steady_unthread_calls_per_event,
        "unthreadMinimumCalls": r.unthread_minimum,
        "repeatUnthreadCallsPerEvent": r.repeat_unthread_calls_per_event,
    }
