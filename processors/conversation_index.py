"""Whether a conversation already exists in Vitally, by externalId, from shared list scans.

Vitally documents no look-up of a conversation by externalId, so the one reliable way to learn
whether a create that may have landed did land is to read the tenant's conversation list,
newest first by createdAt. That list holds every source's conversations, so a look-up that
comes late (a takeover after an outage, a parked create) must read back to the time the
create could have happened, not a fixed number of pages. After a takeover every create of
the backlog is looked up: one scan per tenant answers them all.

A scan answers "not there" only for creates attempted before it started: those of an
earlier owner of the partition (so every scan is dropped at each new assignment, and scans
start after it) and our own that may have landed (``may_have_created``, after which that
conversation needs a newer scan). Scans are kept for ``keep_s``, and at most ``max_pages``
pages are read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from processors.protocols import VitallyApi
from schemas.vitally import VitallyConversationSummary
from vitally.target import VitallyTarget

# Without dates (or a time) to read back to, this many pages: the newest 300 conversations.
SHALLOW_PAGES = 3


@dataclass
class _Scan:
    started: float
    pages: int = 0
    complete: bool = False  # read to the end of the list
    dated: bool = True  # every page's last conversation carried createdAt
    reached: datetime | None = None  # createdAt of the oldest conversation read
    found: dict[str, VitallyConversationSummary] = field(default_factory=dict)

    def covers(self, created_after: datetime | None) -> bool:
        if self.complete:
            return True
        if created_after is None or not self.dated:
            return self.pages >= SHALLOW_PAGES
        return self.reached is not None and self.reached < created_after


class ConversationIndex:
    def __init__(
        self,
        vitally: VitallyApi,
        *,
        keep_s: float = 300.0,
        max_pages: int = 100,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._vitally = vitally
        self._keep_s = keep_s
        self._max_pages = max_pages
        self._clock = clock
        self._scans: dict[str, _Scan] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._attempted: dict[tuple[str, str], float] = {}

    def taken_over(self) -> None:
        """A new assignment: creates of the partitions' earlier owners are not in any scan."""
        self._scans.clear()
        self._attempted.clear()

    def may_have_created(self, target: VitallyTarget, external_id: str) -> None:
        """Our own create of ``external_id`` may have landed: only a later scan can tell."""
        self._attempted[(target.account_key, external_id)] = self._clock()

    async def find(
        self, target: VitallyTarget, external_id: str, created_after: datetime | None
    ) -> VitallyConversationSummary | None:
        """The conversation with ``external_id``, if Vitally has one. ``created_after``: a
        time no create of it can precede (None when unknown: the newest pages only)."""
        account = target.account_key
        async with self._locks.setdefault(account, asyncio.Lock()):
            # Concurrent look-ups of one tenant wait here and reuse the scan the first made.
            scan = self._scans.get(account)
            attempted = self._attempted.get((account, external_id))
            if (
                scan is None
                or self._clock() - scan.started > self._keep_s
                or (attempted is not None and scan.started <= attempted)
                or not scan.covers(created_after)
            ):
                self._drop_expired()
                scan = await self._scan(target, created_after)
                self._scans[account] = scan
        return scan.found.get(external_id)

    async def _scan(self, target: VitallyTarget, created_after: datetime | None) -> _Scan:
        scan = _Scan(started=self._clock())
        cursor: str | None = None
        while scan.pages < self._max_pages and not scan.covers(created_after):
            page = await self._vitally.list_conversations(target, limit=100, cursor=cursor)
            scan.pages += 1
            for conversation in page.results:
                if conversation.external_id is not None:
                    scan.found.setdefault(conversation.external_id, conversation)
            oldest = page.results[-1].created_at if page.results else None
            scan.dated = scan.dated and oldest is not None
            scan.reached = oldest or scan.reached
            if not page.next:
                scan.complete = True
            cursor = page.next
        return scan

    def _drop_expired(self) -> None:
        now = self._clock()
        for account in [a for a, s in self._scans.items() if now - s.started > self._keep_s]:
            del self._scans[account]
        for key in [k for k, at in self._attempted.items() if now - at > self._keep_s]:
            del self._attempted[key]
