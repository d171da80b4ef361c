"""Parking: events that cannot be synced yet wait, durably and in order, and are retried later.

An event is parked when what blocks it may clear by itself: Vitally unavailable after the
in-line retries, the tenant's key rejected (the tenant needs attention until reconnected),
or a customer or teammate not yet in Vitally (re-checked for a window, then skipped). Parked
events live in the waiting table, one entry each (:mod:`streams.waiting`), so they survive
restarts and rebalances, and while a conversation has one, its later events queue behind it:
order is never broken.

Faust timers cannot write tables, so retries are driven by records: a timer finds due
conversations in :class:`ParkedIndex` and sends a retry record keyed by the conversation to
the retry topic, co-partitioned with the input; the agent handles it in the conversation's
lane like any other event.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from schemas.audit import Reason
from schemas.state import ParkedEvent

# Reasons that clear without an operator; everything else parked waits for one (a reconnect).
TRANSIENT: frozenset[Reason] = frozenset(
    {"vitally_unavailable", "vitally_rate_limited", "unthread_unavailable", "unthread_rate_limited"}
)
PEOPLE: frozenset[Reason] = frozenset({"customer_not_in_vitally", "teammate_not_in_vitally"})
NEEDS_ATTENTION: Reason = "integration_needs_attention"
WAITING: Reason = "waiting_for_earlier_event"
# A follow-up, update or delete that arrived before its conversation's create.
FOR_CREATE: Reason = "waiting_for_create"
BACKLOGGED: Reason = "tenant_backlogged"
# Its turn came while the worker stopped or its partitions moved: no call is started then.
HANDOVER: Reason = "worker_handover"


@dataclass(frozen=True)
class ParkingPolicy:
    """When a parked event is tried again, and when a missing person stops being waited for."""

    min_delay_s: float = 60.0
    backlogged_delay_s: float = 1.0
    max_delay_s: float = 3600.0
    transient_max_delay_s: float = 300.0
    people_window_s: float = 7 * 24 * 3600.0
    attention_window_s: float = 14 * 24 * 3600.0
    create_window_s: float = 3600.0
    jitter: float = 0.2

    def next_attempt(
        self, now_ms: int, reason: str, attempts: int, first_parked_at: int | None = None
    ) -> int:
        if reason in (NEEDS_ATTENTION, FOR_CREATE):
            # Not tried on a timer: a reconnect or re-check of the tenant wakes it
            # (ParkedIndex.wake_tenant), the create's arrival its follow-ups; else the end
            # of the window, to end it.
            window = self._window_s(reason) or 0.0
            return (now_ms if first_parked_at is None else first_parked_at) + int(window * 1000)
        if reason == HANDOVER:
            return now_ms  # nothing failed: the partition's next owner takes it up at once
        if reason == BACKLOGGED:
            # Not a failure: the tenant had no free slot. Try again soon, without backoff.
            delay = self.backlogged_delay_s * (1 + self.jitter * random.random())  # noqa: S311
            return now_ms + int(delay * 1000)
        cap = self.transient_max_delay_s if reason in TRANSIENT else self.max_delay_s
        delay = min(cap, self.min_delay_s * 2 ** max(0, attempts - 1))
        # Spread re-checks of many conversations parked at once (an outage) over time.
        delay *= 1 + self.jitter * random.random()  # noqa: S311 - not security relevant
        return now_ms + int(delay * 1000)

    def later(self, now_ms: int) -> int:
        """The longest backoff from now: for a conversation whose resume failed unexpectedly."""
        return now_ms + int(self.max_delay_s * 1000)

    def gives_up(self, reason: str, first_parked_at: int, now_ms: int) -> bool:
        """Missing people and a tenant left needing attention are given up on after their
        window; Vitally outages and backlogs never are."""
        window = self._window_s(reason)
        return window is not None and now_ms - first_parked_at >= window * 1000

    def _window_s(self, reason: str) -> float | None:
        if reason == NEEDS_ATTENTION:
            return self.attention_window_s
        if reason == FOR_CREATE:
            return self.create_window_s
        return self.people_window_s if reason in PEOPLE else None


def missing_person(reason: str, email: str, due_in_ms: int | None) -> str:
    """An audit record's detail for a person missing from Vitally: who, and what to do.
    ``due_in_ms``: when the event is checked again; None when it is no longer waited for."""
    if reason == "customer_not_in_vitally":
        who, fix = "customer", f"add {email} to Vitally as a user"
    else:
        who, fix = "teammate", f"add {email} to Vitally as an active admin"
    if due_in_ms is None:
        return f"{who} {email} not found in Vitally; no longer waited for: {fix}, then replay"
    minutes = max(1, math.ceil(due_in_ms / 60_000))
    return (
        f"{who} {email} not found in Vitally: {fix}; it is picked up within {minutes} min, "
        "or at once after a re-check (vitally-sync recheck --tenant ...)"
    )


@dataclass
class _Entry:
    partition: int
    tenant_id: str
    due_ms: int
    reason: str
    sent_at_ms: int | None = None
    # The head event parked (offset, next attempt); woken early, by Vitally's recovery
    # (streams.vitally_health), until the head is written again.
    head: tuple[int, int] = (0, 0)
    woken: bool = False
    # Per reason, when the conversation's oldest event waiting for it was first parked (ms).
    since: tuple[tuple[str, int], ...] = ()


@dataclass
class ParkedIndex:
    """This worker's in-memory view of which conversations have parked events, and when due.

    Rebuilt from the table after every rebalance; kept current by every state write.
    """

    resend_after_ms: int = 30_000
    # Whether a tenant's integration works again (connected, not needing attention): what
    # waits for it is due at once, e.g. after a reconnect this worker did not see.
    attention_cleared: Callable[[str], bool] = lambda _tenant: False
    _entries: dict[str, _Entry] = field(default_factory=dict)

    def update(self, key: str, tenant_id: str, candidates: Sequence[ParkedEvent]) -> None:
        """``candidates``: what of the conversation can run next (the queue's head, and every
        message set aside); none: nothing waits."""
        if not candidates:
            self._entries.pop(key, None)
            return
        first = min(candidates, key=lambda p: p.next_attempt_at)
        mark = (first.offset, first.next_attempt_at)
        before = self._entries.get(key)
        due = first.next_attempt_at
        if first.reason == NEEDS_ATTENTION and self.attention_cleared(tenant_id):
            due = 0
        entry = _Entry(
            first.partition,
            tenant_id,
            due,
            first.reason,
            head=mark,
            since=_oldest_by_reason((p.reason, p.first_parked_at) for p in candidates),
        )
        if before is not None and before.head == mark and before.woken:
            # Only events queued behind it changed: the head stays woken, and due.
            entry.woken, entry.due_ms, entry.sent_at_ms = True, before.due_ms, before.sent_at_ms
        self._entries[key] = entry

    def rebuild(self, waiting: list[tuple[str, str, list[ParkedEvent]]]) -> None:
        """From (key, tenant, candidates) of every conversation with waiting events."""
        self._entries.clear()
        for key, tenant_id, candidates in waiting:
            self.update(key, tenant_id, candidates)

    def wake_tenant(self, tenant_id: str) -> None:
        """The tenant was reconnected, or an operator asked for a re-check of its missing
        people: everything of it that waits for that is due now."""
        for entry in self._entries.values():
            if entry.tenant_id == tenant_id:
                entry.due_ms = 0
                entry.sent_at_ms = None

    def waiting_tenants(self, reasons: frozenset[Reason]) -> set[str]:
        """Tenants with a conversation parked (at its head) for one of ``reasons``."""
        return {e.tenant_id for e in self._entries.values() if e.reason in reasons}

    def wake(self, tenant_id: str, reasons: frozenset[Reason], limit: int) -> int:
        """Make the tenant's conversations parked for ``reasons`` due now, so that at most
        ``limit`` are woken and unresolved at once (no thundering herd); how many were woken.

        A woken head is resumed although its own backoff has not passed (:meth:`woken`),
        until it is written again: resolved, or parked anew after another failure.
        """
        mine = [
            e for e in self._entries.values() if e.tenant_id == tenant_id and e.reason in reasons
        ]
        room = limit - sum(e.woken for e in mine)
        woken = 0
        for entry in sorted((e for e in mine if not e.woken), key=lambda e: e.due_ms):
            if woken >= room:
                break
            entry.woken, entry.due_ms, entry.sent_at_ms = True, 0, None
            woken += 1
        return woken

    def defer(self, key: str, until_ms: int) -> None:
        """No retry record for ``key`` before ``until_ms`` (its resume failed unexpectedly)."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.due_ms, entry.sent_at_ms, entry.woken = until_ms, None, False

    def woken(self, key: str) -> bool:
        entry = self._entries.get(key)
        return entry is not None and entry.woken

    def due(self, now_ms: int, partitions: set[int]) -> list[tuple[str, int]]:
        """Conversations to send a retry record for; each is not re-sent for a while."""
        ready = []
        for key, entry in self._entries.items():
            if entry.partition not in partitions or entry.due_ms > now_ms:
                continue
            if entry.sent_at_ms is not None and now_ms - entry.sent_at_ms < self.resend_after_ms:
                continue
            entry.sent_at_ms = now_ms
            ready.append((key, entry.partition))
        return ready

    def by_reason(self) -> dict[str, int]:
        """Conversations with parked events, by the reason of the one due next."""
        return dict(Counter(entry.reason for entry in self._entries.values()))

    def waiting_ages(self, now_ms: int) -> dict[str, float]:
        """Per reason, the seconds since the oldest event waiting for it was first parked
        (queued behind a conversation's head, or set aside, alike)."""
        oldest = _oldest_by_reason(pair for e in self._entries.values() for pair in e.since)
        return {reason: max(0.0, (now_ms - since) / 1000) for reason, since in oldest}

    def __len__(self) -> int:
        return len(self._entries)


def _oldest_by_reason(pairs: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    oldest: dict[str, int] = {}
    for reason, since in pairs:
        oldest[reason] = min(since, oldest.get(reason, since))
    return tuple(oldest.items())
