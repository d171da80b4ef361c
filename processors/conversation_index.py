"""What Vitally already holds, for look-ups before a write that may have been made before.

Vitally has no idempotency key. A create or a post that may already have landed (a
predecessor's, before a takeover; ours, before an ambiguous failure) is looked up first:

* a conversation by externalId: Vitally documents no such look-up, so the tenant's list is
  read, newest first by createdAt. The list holds every source's conversations, so a late
  look-up (after an outage, of a parked create) reads back to the time the create could have
  happened, not a fixed number of pages;
* a message by externalId: its conversation is read with its messages.

After a takeover every record of the backlog is looked up, so one read answers many: one
list scan per tenant, one snapshot per conversation. A read answers "not there" only for
writes attempted before it started: a predecessor's (every read is dropped at each new
assignment, ``taken_over``, and later ones start after it) and ours that may have landed
(``may_have_written``, after which only a newer read may judge that record). Reads are kept
for ``keep_s``; a scan reads at most ``max_pages`` pages, and at most ``max_snapshots``
conversations are kept.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
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


@dataclass(frozen=True)
class _Snapshot:
    started: float
    messages: dict[str, str]  # message externalId -> Vitally id


class ConversationIndex:
    def __init__(
        self,
        vitally: VitallyApi,
        *,
        keep_s: float = 300.0,
        max_pages: int = 100,
        max_snapshots: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._vitally = vitally
        self._keep_s = keep_s
        self._max_pages = max_pages
        self._max_snapshots = max_snapshots
        self._clock = clock
        self._scans: dict[str, _Scan] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._snapshots: OrderedDict[tuple[str, str], _Snapshot] = OrderedDict()
        self._attempted: dict[tuple[str, str], float] = {}

    def taken_over(self) -> None:
        """A new assignment: writes of the partitions' earlier owners are in no read yet."""
        self._scans.clear()
        self._snapshots.clear()
        self._attempted.clear()

    def may_have_written(self, target: VitallyTarget, external_id: str) -> None:
        """Our own create or post of ``external_id`` may have landed: only a later read can
        tell. (Unthread's conversation and message ids do not share a namespace.)"""
        self._attempted[(target.account_key, external_id)] = self._clock()

    async def conversation(
        self, target: VitallyTarget, external_id: str, created_after: datetime | None
    ) -> VitallyConversationSummary | None:
        """The conversation with ``external_id``, if Vitally has one. ``created_after``: a
        time no create of it can precede (None when unknown: the newest pages only)."""
        account = target.account_key
        async with self._locks.setdefault(account, asyncio.Lock()):
            # Concurrent look-ups of one tenant wait here and reuse the scan the first made.
            scan = self._scans.get(account)
            if not (
                scan is not None
                and self._answers(scan.started, account, external_id)
                and scan.covers(created_after)
            ):
                self._drop_expired()
                scan = await self._scan(target, created_after)
                self._scans[account] = scan
        return scan.found.get(external_id)

    async def message(
        self, target: VitallyTarget, conversation_id: str, external_id: str
    ) -> str | None:
        """The Vitally id of the message with ``external_id`` in the conversation (by its
        Vitally id), if it is there. One conversation's look-ups come one at a time (its
        events run in one lane), so there is nothing to share a read in flight with."""
        key = (target.account_key, conversation_id)
        snapshot = self._snapshots.get(key)
        if snapshot is None or not self._answers(snapshot.started, key[0], external_id):
            started = self._clock()
            found = await self._vitally.get_conversation(target, conversation_id)
            messages = found.messages if found is not None else []
            snapshot = _Snapshot(
                started, {m.external_id: m.id for m in messages if m.external_id is not None}
            )
            self._snapshots[key] = snapshot
            self._snapshots.move_to_end(key)
            while len(self._snapshots) > self._max_snapshots:
                self._snapshots.popitem(last=False)
        return snapshot.messages.get(external_id)

    def _answers(self, started: float, account: str, external_id: str) -> bool:
        """Whether a read that began at ``started`` can say ``external_id`` is not there."""
        attempted = self._attempted.get((account, external_id))
        fresh = self._clock() - started <= self._keep_s
        return fresh and (attempted is None or started > attempted)

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
        for key in [k for k, s in self._snapshots.items() if now - s.started > self._keep_s]:
            del self._snapshots[key]
        for key in [k for k, at in self._attempted.items() if now - at > self._keep_s]:
            del self._attempted[key]
