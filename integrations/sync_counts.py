"""Sync counts per tenant, by outcome and by reason, counted from audit records.

The worker that writes an audit record counts it (:mod:`integrations.audit_summary` publishes
and reads the counts), so the counts count audit records: after a crash an event handled
again is counted again (the audit topic is at least once), and a parked event that later
resolves counts twice.

Next to the counts, each tenant keeps what an operator asks about next, from the same records:
its most recent failures (``failed``, and the skips an operator can act on,
:data:`schemas.audit_reasons.ACTIONABLE_SKIPS`) and its events parked right now (an event's
``parked`` records come before its one final record, all with the same ``source``;
``duplicate/already_parked`` is a redelivery while it waits, not its end). Only ids, codes and
times are kept, as in the audit record itself: never message text or secrets.

For the console's "last day", the counts by outcome are also kept per hour (by
``processedAt``) for the newest :data:`DAY_HOURS` + 1 hours seen, with the time of the newest
``synced`` record: "the last day" is the last 24 whole hours plus the current one.

Memory: per tenant and input partition at most :data:`RECENT_FAILURES` failures,
:data:`PARKED_TRACKED` parked events (a few hundred bytes each) and 25 hourly counters, for at most
:data:`MAX_TENANTS` tenants. Parked records come only from connected tenants, so made-up
tenant ids add at most their failures.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

from schemas.audit import is_result
from schemas.audit_reasons import ACTIONABLE_SKIPS, fix_for

# Tenant ids come from the input topic; a flood of made-up ones must not grow memory forever.
MAX_TENANTS = 100_000
# A tenant's failures shown, newest first.
RECENT_FAILURES = 20
# A tenant's parked events shown (the longest waiting first), and how many are tracked: the
# count of parked events is exact up to PARKED_TRACKED; past it, it is flagged `truncated`.
PARKED_SHOWN = 100
PARKED_TRACKED = 1_000
# The origins counted apart (live events are the rest): two keys at most, each with its
# outcomes, so a summary value stays bounded.
ORIGINS = ("import", "reconcile")
# `detail` is short by design (the DLQ's x-error-detail is at most 500); kept shorter here.
DETAIL_CHARS = 300
HOUR_MS = 3_600_000
# The last day: this many whole hours before the current one (kept: DAY_HOURS + 1 buckets).
DAY_HOURS = 24

Source = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class Problem:
    """What an answer shows of one audit record: ids, codes, where and when; no text."""

    outcome: str
    reason: str | None
    detail: str | None
    conversation_id: str | None
    message_id: str | None
    event: str | None
    source: Source
    processed_at: int | None

    def view(self) -> dict[str, Any]:
        topic, partition, offset = self.source
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
            "fix": fix_for(self.reason),
            "conversationId": self.conversation_id,
            "messageId": self.message_id,
            "event": self.event,
            "source": {"topic": topic, "partition": partition, "offset": offset},
            "processedAt": _iso(self.processed_at),
        }


@dataclass
class TenantCounts:
    """One tenant's audit records counted by outcome and by reason."""

    by_outcome: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)
    # Outcomes of the events made from Unthread's API, by origin (import, reconcile).
    by_origin: dict[str, Counter[str]] = field(default_factory=dict)
    first_processed_at: int | None = None
    # Newest first, at most RECENT_FAILURES, one per source.
    recent_failures: list[Problem] = field(default_factory=list)
    # Each parked event's latest parked record, by source, at most PARKED_TRACKED.
    parked: dict[Source, Problem] = field(default_factory=dict)
    # More events were parked at once than tracked: `parked` is then a part of them.
    parked_truncated: bool = False
    # By hour (processedAt // HOUR_MS), the outcomes of the newest DAY_HOURS + 1 hours seen.
    hours: dict[int, Counter[str]] = field(default_factory=dict)
    last_synced_at: int | None = None

    def add(self, outcome: str, reason: str | None, processed_at: int | None) -> None:
        self.by_outcome[outcome] += 1
        if reason:
            self.by_reason[reason] += 1
        if processed_at is not None:
            self.add_since(processed_at)
            self.add_hour(processed_at // HOUR_MS, Counter({outcome: 1}))
            if outcome == "synced":
                self.add_synced(processed_at)

    def add_hour(self, hour: int, counts: Counter[str]) -> None:
        """Count ``counts`` in ``hour``; hours more than a day before the newest are dropped."""
        newest = max(self.hours, default=hour)
        if hour < newest - DAY_HOURS:
            return
        self.hours.setdefault(hour, Counter()).update(counts)
        for old in [h for h in self.hours if h < max(newest, hour) - DAY_HOURS]:
            del self.hours[old]

    def add_synced(self, processed_at: int) -> None:
        if self.last_synced_at is None or self.last_synced_at < processed_at:
            self.last_synced_at = processed_at

    def recent(self, now_ms: int) -> dict[str, Any]:
        """``lastDay``: records by outcome over the last 24 whole hours and the current one;
        ``lastSyncedAt``: the newest synced record's time."""
        since = now_ms // HOUR_MS - DAY_HOURS
        last_day: Counter[str] = Counter()
        for hour, counts in self.hours.items():
            if hour >= since:
                last_day.update(counts)
        return {"lastDay": dict(last_day), "lastSyncedAt": _iso(self.last_synced_at)}

    def add_since(self, processed_at: int) -> None:
        if self.first_processed_at is None or processed_at < self.first_processed_at:
            self.first_processed_at = processed_at

    def view(self) -> dict[str, Any]:
        """``syncCounts`` but ``complete`` (which is the reader's to say)."""
        answer: dict[str, Any] = {
            "total": sum(self.by_outcome.values()),
            "byOutcome": dict(self.by_outcome),
            "byReason": dict(self.by_reason),
            # The oldest audit record counted.
            "since": _iso(self.first_processed_at),
        }
        if self.by_origin:
            # Only once the tenant has imported or reconciled: what those events came to.
            answer["byOrigin"] = {origin: dict(c) for origin, c in self.by_origin.items()}
        return answer

    def note(self, problem: Problem) -> None:
        """Follow a parked event, or keep a failure (see :func:`shown`)."""
        if problem.outcome == "parked":
            if problem.source in self.parked or len(self.parked) < PARKED_TRACKED:
                self.parked[problem.source] = problem  # a changed reason replaces the old one
            else:
                self.parked_truncated = True
        else:
            self.resolved(problem.source)
            self._add_failure(problem)

    def resolved(self, source: Source) -> None:
        """A final record: the event of ``source`` (if parked) waits no longer."""
        self.parked.pop(source, None)

    def _add_failure(self, problem: Problem) -> None:
        recent, at = self.recent_failures, problem.processed_at or 0
        if len(recent) >= RECENT_FAILURES and at < (recent[-1].processed_at or 0):
            return  # older than every one shown (partitions are read one after the other)
        # A record sent again after a crash has the same source: shown once, as its latest.
        recent[:] = [problem, *(p for p in recent if p.source != problem.source)]
        # Stable: of records with the same time, the one read last comes first.
        recent.sort(key=lambda p: p.processed_at or 0, reverse=True)
        del recent[RECENT_FAILURES:]

    def attention(self) -> dict[str, Any]:
        longest_waiting = heapq.nsmallest(
            PARKED_SHOWN, self.parked.values(), key=lambda p: p.processed_at or 0
        )
        return {
            "recentFailures": [p.view() for p in self.recent_failures],
            "parked": {
                "count": len(self.parked),
                "truncated": self.parked_truncated,
                "events": [p.view() for p in longest_waiting],
            },
        }


def count_record(counts: TenantCounts, record: dict[str, Any]) -> None:
    """Count one audit record (its JSON object) of the tenant ``counts`` belongs to."""
    outcome = record.get("outcome")
    if not isinstance(outcome, str):
        return
    reason, at = _str(record.get("reason")), record.get("processedAt")
    processed_at = at if isinstance(at, int) and not isinstance(at, bool) else None
    counts.add(outcome, reason, processed_at)
    origin = record.get("origin")
    if origin in ORIGINS:
        counts.by_origin.setdefault(origin, Counter())[outcome] += 1
    kept = shown(outcome, reason)
    if not kept and (not counts.parked or not is_result(outcome, reason)):
        return  # most records: nothing to keep, no parked event they could end
    source = _source(record.get("source"))
    if source is None:
        return
    if not kept:
        counts.resolved(source)
        return
    detail = _str(record.get("detail"))
    counts.note(
        Problem(
            outcome=outcome,
            reason=reason,
            detail=detail[:DETAIL_CHARS] if detail else detail,
            conversation_id=_str(record.get("conversationId")),
            message_id=_str(record.get("messageId")),
            event=_str(record.get("event")),
            source=source,
            processed_at=processed_at,
        )
    )


def shown(outcome: str, reason: str | None) -> bool:
    """Whether a record is kept for an answer: it parks its event or is a recent failure.
    ``duplicate/already_parked`` is neither, nor the end of a parked event: it is a redelivery
    while the event waits."""
    return outcome in ("parked", "failed") or (outcome == "skipped" and reason in ACTIONABLE_SKIPS)


def _iso(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _source(value: object) -> Source | None:
    if not isinstance(value, dict):
        return None
    topic, partition, offset = value.get("topic"), value.get("partition"), value.get("offset")
    if isinstance(topic, str) and _count(partition) and _count(offset):
        return topic, partition, offset
    return None


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
