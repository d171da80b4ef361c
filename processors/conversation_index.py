"""What Vitally already holds, for look-ups before a write that may have been made before.

Vitally has no idempotency key. A create or a post that may already have landed (a
predecessor's, before a takeover; ours, before an ambiguous failure) is looked up first:

* a conversation by externalId: Vitally documents no such look-up, so the tenant's list is
  read, newest first by createdAt. The list holds every source's conversations, so a late
  look-up (after an outage, of a parked create) reads back to the time the create could have
  happened, not a fixed number of pages;
* a message by externalId: its conversation is read with its messages.

After a takeover every record of the backlog is looked up, so one read answers many: one
list scan per tenant (shared by the look-ups that wait for it), one snapshot per
conversation. A read answers "not there" only for writes attempted before it started: a
predecessor's (every read is dropped at each new assignment, ``taken_over``, and later ones
start after it) and ours that may have landed (the ``written_at`` the stream layer passes
with the look-up after such a write, or ``may_have_written``). Vitally may still be working
on a write that got no answer, so such a write counts as attempted until ``settle_s`` after
it. Times are wall-clock seconds, as a parked event carries the time of
its ambiguous write to the partition's next owner.

Reads are kept for ``keep_s``. A scan reads at most ``max_pages`` pages and then answers from
what it read; it stops between pages when the worker stops or hands its partitions over
(:class:`processors.results.HandOver`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from processors.clock import Clock, epoch_s
from processors.protocols import VitallyApi
from processors.results import HandOver
from vitally.target import VitallyTarget

log = logging.getLogger(__name__)

# Without dates (or a time) to read back to, this many pages: the newest 300 conversations.
SHALLOW_PAGES = 3


@dataclass
class _Scan:
    started: float
    max_pages: int
    pages: int = 0
    complete: bool = False  # read to the end of the list
    dated: bool = True  # every page's last conversation carried createdAt
    reached: datetime | None = None  # createdAt of the oldest conversation read
    found: dict[str, str] = field(default_factory=dict)  # externalId -> Vitally id

    def covers(self, created_after: datetime | None) -> bool:
        if self.complete or self.pages >= self.max_pages:
            return True
        if created_after is None or not self.dated:
            return self.pages >= SHALLOW_PAGES
        return self.reached is not None and self.reached < created_after


@dataclass(frozen=True)
class _Snapshot:
    started: float
    messages: dict[str, str]  # message externalId -> Vitally id


class ConversationIndex:
    """Looks conversations and messages up in Vitally by externalId, sharing reads between
    look-ups."""

    def __init__(
        self,
        vitally: VitallyApi,
        *,
        settle_s: float = 10.0,
        keep_s: float = 300.0,
        max_pages: int = 100,
        max_snapshots: int = 10_000,
        stopping: Callable[[], bool] = lambda: False,
        clock: Clock,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._vitally = vitally
        self._settle_s = settle_s
        self._keep_s = keep_s
        self._max_pages = max_pages
        self._max_snapshots = max_snapshots
        self._stopping = stopping
        self._clock = clock
        self._sleep = sleep
        self._scans: dict[str, _Scan] = {}
        self._scanning: dict[str, asyncio.Future[_Scan]] = {}
        self._snapshots: OrderedDict[tuple[str, str], _Snapshot] = OrderedDict()
        self._attempted: dict[tuple[str, str], float] = {}
        self._swept = epoch_s(clock)

    def taken_over(self) -> None:
        """A new assignment: writes of the partitions' earlier owners are in no read yet."""
        self._scans.clear()
        self._snapshots.clear()
        self._attempted.clear()

    def may_have_written(
        self, target: VitallyTarget, external_id: str, at: float | None = None
    ) -> None:
        """Our create or post of ``external_id`` got no clear answer (``at``, else now): only
        a read begun once Vitally is done with it can tell. (Unthread's conversation and
        message ids do not share a namespace.)"""
        key = (target.account_key, external_id)
        until = (epoch_s(self._clock) if at is None else at) + self._settle_s
        self._attempted[key] = max(until, self._attempted.get(key, until))

    async def conversation(
        self,
        target: VitallyTarget,
        external_id: str,
        created_after: datetime | None,
        written_at: float | None = None,
    ) -> str | None:
        """The Vitally id of the conversation with ``external_id``, if Vitally has one.
        ``created_after``: a time no create of it can precede (None: the newest pages);
        ``written_at``: when our create of it got no clear answer, if one did."""
        self._sweep()
        account = target.account_key
        await self._settled(target, external_id, written_at)
        while True:
            scan = self._scans.get(account)
            if scan is not None and self._answers(scan, account, external_id, created_after):
                return scan.found.get(external_id)
            pending = self._scanning.get(account)
            if pending is None:
                break
            # Another look-up of this tenant is reading the list: share its scan (or error).
            await asyncio.shield(pending)
        pending = asyncio.get_running_loop().create_future()
        self._scanning[account] = pending
        try:
            scan = await self._scan(target, created_after)
        except BaseException as exc:
            # A cancelled scan (the worker stops) leaves its waiters to the next owner too.
            pending.set_exception(exc if isinstance(exc, Exception) else HandOver())
            pending.exception()  # retrieved: a scan nobody shared must not warn
            raise
        finally:
            del self._scanning[account]
        self._scans[account] = scan
        pending.set_result(scan)
        return scan.found.get(external_id)

    async def message(
        self,
        target: VitallyTarget,
        conversation_id: str,
        external_id: str,
        written_at: float | None = None,
    ) -> str | None:
        """The Vitally id of the message with ``external_id`` in the conversation (by its
        Vitally id), if it is there; ``written_at`` as for :meth:`conversation`. One
        conversation's look-ups come one at a time (its events run in one lane), so there is
        nothing to share a read in flight with."""
        self._sweep()
        key = (target.account_key, conversation_id)
        await self._settled(target, external_id, written_at)
        snapshot = self._snapshots.get(key)
        if snapshot is None or not self._fresh(snapshot.started, key[0], external_id):
            started = epoch_s(self._clock)
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

    async def _settled(
        self, target: VitallyTarget, external_id: str, written_at: float | None
    ) -> None:
        # A read begun before Vitally is done with our unanswered write could miss it.
        if written_at is not None:
            self.may_have_written(target, external_id, at=written_at)
        wait = self._attempted.get((target.account_key, external_id), 0.0) - epoch_s(self._clock)
        if wait > 0:
            if self._stopping():
                raise HandOver
            await self._sleep(wait)

    def _answers(
        self, scan: _Scan, account: str, external_id: str, created_after: datetime | None
    ) -> bool:
        return self._fresh(scan.started, account, external_id) and scan.covers(created_after)

    def _fresh(self, started: float, account: str, external_id: str) -> bool:
        """Whether a read that began at ``started`` can say ``external_id`` is not there."""
        attempted = self._attempted.get((account, external_id))
        young = epoch_s(self._clock) - started <= self._keep_s
        return young and (attempted is None or started > attempted)

    async def _scan(self, target: VitallyTarget, created_after: datetime | None) -> _Scan:
        scan = _Scan(started=epoch_s(self._clock), max_pages=self._max_pages)
        cursor: str | None = None
        while not scan.covers(created_after):
            if scan.pages and self._stopping():
                raise HandOver
            page = await self._vitally.list_conversations(target, limit=100, cursor=cursor)
            scan.pages += 1
            for conversation in page.results:
                if conversation.external_id is not None:
                    scan.found.setdefault(conversation.external_id, conversation.id)
            oldest = page.results[-1].created_at if page.results else None
            scan.dated = scan.dated and oldest is not None
            scan.reached = oldest or scan.reached
            scan.complete = not page.next
            cursor = page.next
        if not scan.complete and scan.pages >= self._max_pages:
            log.warning(
                "conversation look-up stopped at its page limit before the create time",
                extra={"tenant": target.tenant_id, "pages": scan.pages},
            )
        return scan

    def _sweep(self) -> None:
        """Drop what is too old to answer, at most ten times per ``keep_s``."""
        now = epoch_s(self._clock)
        if now - self._swept < self._keep_s / 10:
            return
        self._swept = now
        for account in [a for a, s in self._scans.items() if now - s.started > self._keep_s]:
            del self._scans[account]
        for key in [k for k, s in self._snapshots.items() if now - s.started > self._keep_s]:
            del self._snapshots[key]
        for key in [k for k, at in self._attempted.items() if now - at > self._keep_s]:
            del self._attempted[key]
