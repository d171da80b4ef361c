"""How ``audit``, ``why`` and ``dlq`` print: an aligned table for people, CSV and JSON for
tools."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any, Literal

from ops.counts import AuditCounts, CountRow
from ops.dlq import Letter, Redrive
from ops.timerange import iso
from ops.trail import TrailStep

Format = Literal["table", "csv", "json"]
FORMATS: tuple[Format, ...] = ("table", "csv", "json")

_COUNT_COLUMNS = ("tenant", "outcome", "reason", "count")
_TRAIL_COLUMNS = ("time", "event", "message", "outcome", "reason", "detail")


def render_counts(counts: AuditCounts, fmt: Format) -> str:
    rows = [(r.tenant, r.outcome, r.reason, r.count) for r in counts.rows()]
    if fmt == "csv":
        return _csv(_COUNT_COLUMNS, rows)
    window = {"since": _maybe_iso(counts.window.since), "until": _maybe_iso(counts.window.until)}
    if fmt == "json":
        tenants = [_tenant_json(t, tenant_rows) for t, tenant_rows in counts.by_tenant().items()]
        return _json({**window, "recordsRead": counts.read, "tenants": tenants})
    counted = sum(r.count for r in counts.rows())
    since, until = window["since"] or "the start of the topic", window["until"] or "its end"
    footer = f"{counted} audit records from {since} to {until} ({counts.read} read)"
    return _table(_COUNT_COLUMNS, rows) + footer + "\n"


def render_trail(steps: Sequence[TrailStep], fmt: Format) -> str:
    if fmt == "json":
        return _json([_step_json(s) for s in steps])
    rows = [
        (_maybe_iso(s.time) or "", s.event, s.message_id, s.outcome, s.reason, s.detail)
        for s in steps
    ]
    if fmt == "csv":
        return _csv(
            (*_TRAIL_COLUMNS, "fix"), [(*r, s.fix) for r, s in zip(rows, steps, strict=True)]
        )
    lines = _table(_TRAIL_COLUMNS, rows).splitlines()
    out = lines[:1]
    for line, step in zip(lines[1:], steps, strict=True):
        out.append(line)
        if step.fix:
            out.append(f"    fix: {step.fix}")
    return "\n".join(out) + "\n"


_LETTER_COLUMNS = ("dlq", "failed", "reason", "tenant", "conversation", "source", "attempts")
_REDRIVE_COLUMNS = ("dlq", "reason", "tenant", "conversation", "to", "note")


def render_letters(letters: Sequence[Letter], fmt: Format) -> str:
    """``dlq list``: one line per dead letter, never its value."""
    if fmt == "json":
        return _json([_letter_json(found) for found in letters])
    rows = [_letter_row(found) for found in letters]
    if fmt == "csv":
        return _csv(_LETTER_COLUMNS, rows)
    return _table(_LETTER_COLUMNS, rows) + f"{len(letters)} dead letters\n"


def render_letter(found: Letter, fmt: Format) -> str:
    """``dlq show``: everything a dead letter says, its value included."""
    value = (found.letter.value or b"").decode("utf-8", "replace")
    if fmt == "json":
        return _json({**_letter_json(found), "value": value})
    fields = {**_letter_json(found), "inputHeaders": None}
    lines = [f"{name}: {_printable(v)}" for name, v in fields.items() if v is not None]
    lines += [f"  {_printable(n)}: {_printable(v.decode('utf-8', 'replace'))}"
              for n, v in found.letter.input_headers]  # fmt: skip
    return "\n".join(lines) + "\nvalue:\n" + value + "\n"


def render_redrives(plans: Sequence[Redrive], sent: dict[int, int] | None, fmt: Format) -> str:
    """``dlq redrive``: what goes where (``sent``: the offset each got, by plan index)."""
    rows = [
        (
            *_letter_row(p.source)[:1],
            *_letter_row(p.source)[2:5],
            redrive_target(p, i, sent),
            redrive_note(p),
        )
        for i, p in enumerate(plans)
    ]
    if fmt == "json":
        return _json([dict(zip(_REDRIVE_COLUMNS, row, strict=True)) for row in rows])
    if fmt == "csv":
        return _csv(_REDRIVE_COLUMNS, rows)
    going = sum(1 for p in plans if p.problem is None)
    footer = (
        f"{len(sent or {})} re-driven, {len(plans) - going} left in the DLQ"
        if sent is not None
        else f"dry run: nothing produced; {going} of {len(plans)} would be re-driven "
        "(add --execute)"
    )
    return _table(_REDRIVE_COLUMNS, rows) + footer + "\n"


def _letter_row(found: Letter) -> tuple[object, ...]:
    letter, origin = found.letter, found.letter.origin
    return (
        found.place,
        _maybe_iso(found.time),
        letter.reason,
        found.tenant_id,
        found.conversation_id,
        origin.describe() if origin else None,
        letter.attempts,
    )


def _letter_json(found: Letter) -> dict[str, Any]:
    letter, origin = found.letter, found.letter.origin
    return {
        "partition": found.partition,
        "offset": found.offset,
        "failedAt": _maybe_iso(found.time),
        "reason": letter.reason,
        "detail": letter.detail,
        "stage": letter.stage,
        "errorClass": letter.error_class,
        "attempts": letter.attempts,
        "firstAttemptAt": _maybe_iso(letter.first_attempt_at),
        "tenantId": found.tenant_id,
        "conversationId": found.conversation_id,
        "source": origin.describe() if origin else None,
        "truncated": letter.truncated,
        "originalValueBytes": letter.original_value_bytes,
        "inputHeaders": [name for name, _ in letter.input_headers],
    }


def redrive_target(plan: Redrive, index: int, sent: dict[int, int] | None) -> str | None:
    """Where a plan goes (topic/partition), and once sent the offset it got."""
    if plan.topic is None or plan.partition is None:
        return None
    where = f"{plan.topic}/{plan.partition}"
    return f"{where}/{sent[index]}" if sent is not None and index in sent else where


def redrive_note(plan: Redrive) -> str | None:
    """Why a plan cannot go, or what is worth knowing about where it goes."""
    if plan.problem is not None:
        return f"not re-driven: {plan.problem}"
    notes = []
    if plan.source.letter.truncated:
        notes.append("the original, read at its source (the copy was cut)")
    if plan.java_partition is not None:
        notes.append(f"the Java client would pick partition {plan.java_partition}: source kept")
    return "; ".join(notes) or None


def _tenant_json(tenant: str, rows: list[CountRow]) -> dict[str, Any]:
    by_outcome: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for row in rows:
        by_outcome[row.outcome] = by_outcome.get(row.outcome, 0) + row.count
        if row.reason:
            by_reason[row.reason] = by_reason.get(row.reason, 0) + row.count
    return {
        "tenantId": tenant or None,
        "total": sum(by_outcome.values()),
        "byOutcome": by_outcome,
        "byReason": by_reason,
        # byReason alone loses which outcome a reason came with (parked, then skipped).
        "counts": [
            {"outcome": r.outcome, "reason": r.reason or None, "count": r.count} for r in rows
        ],
    }


def _step_json(step: TrailStep) -> dict[str, Any]:
    return {
        "time": _maybe_iso(step.time),
        "event": step.event,
        "messageId": step.message_id,
        "outcome": step.outcome,
        "reason": step.reason,
        "detail": step.detail,
        "fix": step.fix,
        "partition": step.partition,
        "offset": step.offset,
    }


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(headers), *[[_printable(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "".join(
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n"
        for row in cells
    )


def _printable(value: object) -> str:
    # Event types and ids come from upstream: no escape sequence of theirs reaches a terminal.
    text = "" if value is None else str(value)
    return "".join(c if c.isprintable() else "?" for c in text)


def _csv(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue()


def _json(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"


def _maybe_iso(ms: int | None) -> str | None:
    return iso(ms) if ms is not None else None
