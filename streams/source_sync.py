"""Running each tenant's import and reconciliation on exactly one worker.

The worker that owns input partition ``crc32(tenant id) % partitions`` runs the tenant's
walks (:mod:`processors.source_walk`), one at a time, in a background task: an import while
the tenant has an ``importSince`` whose generation is not done (and not paused), and a
reconciliation pass every ``reconcileIntervalSeconds``. When the partition moves, the walk
stops before its next conversation and the new owner resumes from the saved progress.

The walks produce onto the input topic: what they bring is synced by the agent like any
webhook event. Live events go first: a walk keeps at most ``SOURCE_WALK_MAX_OUTSTANDING`` of its
events unhandled (:mod:`processors.walk_pacing`), and its Unthread calls, like the Vitally and
Unthread calls of the events it produced (``streams.handler``), are background calls
(:mod:`apiclient.priority`): within ``SOURCE_WALK_BUDGET_SHARE`` of the tenant's budget, after
every live call that waits.

Unthread failing pauses a walk with the look-ups' reason codes: waiting (unavailable, rate
limited), tried again after a backoff; a refused key marks the integration
``needs_attention`` (``unthread_auth_failed``), as a look-up would, and the walk waits for the
tenant to reconnect. Either way it resumes from its saved progress.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from apiclient.priority import background_calls
from integrations.source_walks import WalkStore
from processors.source_walk import ConversationLister, SourceWalk
from processors.tenant import TenantContext
from processors.walk_pacing import Handled, OutstandingEvents, Send
from schemas.integration import IntegrationRecord
from schemas.source_walk import WalkKind, WalkProgress
from unthread.target import UnthreadTarget

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
# Each reconciliation pass starts this long before the newest change the last one saw: a
# change Unthread stamps a little behind it (another server's clock, a write committed late)
# is read, not skipped for good. What is read again is answered `duplicate` from the
# conversations table: one Unthread call per conversation, no Vitally call.
WATERMARK_OVERLAP = timedelta(seconds=10)


def owner_partition(tenant_id: str, partitions: int) -> int:
    """The input partition whose owner runs the tenant's walks."""
    return zlib.crc32(tenant_id.encode()) % partitions


class Tenants(Protocol):
    """The tenants as this worker knows them (integrations.store.IntegrationStore)."""

    ready: asyncio.Event

    def tenants(self) -> list[IntegrationRecord]: ...

    def tenant(self, tenant_id: str) -> TenantContext | None: ...

    def record(self, tenant_id: str) -> IntegrationRecord | None: ...

    async def mark_needs_attention(self, tenant: TenantContext, reason: str) -> None: ...


class SourceSync:
    """Decides which walks this worker runs now, and runs them."""

    def __init__(
        self,
        *,
        integrations: Tenants,
        walks: WalkStore,
        unthread: ConversationLister,
        send: Send,
        partition_of: Callable[[bytes], int],
        handled: Handled,
        max_outstanding: int,
        publish: Callable[[WalkProgress], Awaitable[None]],
        partitions: int,
        now: Callable[[], datetime],
        stopping: Callable[[], bool],
    ) -> None:
        self._integrations = integrations
        self._walks = walks
        self._unthread = unthread
        self._send = send
        self._partition_of = partition_of
        self._handled = handled
        self._max_outstanding = max_outstanding
        self._publish = publish
        self._partitions = partitions
        self._now = now
        self._stopping = stopping
        self.owned: set[int] = set()

    def owns(self, tenant_id: str) -> bool:
        return owner_partition(tenant_id, self._partitions) in self.owned

    async def run(self) -> None:
        """For ever: one round over the tenants, then a short sleep."""
        await self._walks.ready.wait()
        await self._integrations.ready.wait()
        while not self._stopping():
            try:
                await self.round()
            except Exception:
                # A bug in one round must not end the task: log it and try again later.
                log.exception("source walk round failed")
            await asyncio.sleep(TICK_SECONDS)

    async def round(self) -> None:
        for record in self._integrations.tenants():
            if self._stopping():
                return
            tenant = self._integrations.tenant(record.tenant_id)
            if tenant is None or tenant.unthread is None or not self.owns(record.tenant_id):
                continue
            if record.status != "connected":
                continue
            await self._import(record, tenant.unthread)
            await self._reconcile(record, tenant.unthread, tenant.connected_at)

    async def _import(self, record: IntegrationRecord, target: UnthreadTarget) -> None:
        if record.import_since is None:
            return
        progress = self._walks.get(record.tenant_id, "import")
        if progress is None or progress.generation != record.import_generation:
            progress = self._fresh(record.tenant_id, "import", record.import_since)
            progress = progress.model_copy(update={"generation": record.import_generation})
        if progress.state == "done":
            return
        if record.import_paused:
            if progress.state != "paused" or progress.error is not None:
                paused = {"state": "paused", "error": None, "retry_at": None}
                await self._save(progress.model_copy(update=paused))
            return
        if self._not_yet(progress):
            return
        if progress.state == "paused" and progress.error is not None:
            # Paused by a refused key: only a reconnect (a newer integration record) resumes.
            if record.updated_at <= progress.updated_at:
                return
        progress = progress.model_copy(update={"state": "running", "error": None})
        await self._walk(record.tenant_id, target, progress, created_after=None)

    async def _reconcile(
        self, record: IntegrationRecord, target: UnthreadTarget, connected_at: datetime
    ) -> None:
        interval = record.reconcile_interval_seconds
        if not interval:
            return
        floor = min(s for s in (connected_at, record.backfill_since, record.import_since) if s)
        progress = self._walks.get(record.tenant_id, "reconcile")
        if progress is None:
            progress = self._fresh(record.tenant_id, "reconcile", connected_at)
        elif progress.state == "done":
            finished = progress.finished_at or progress.updated_at
            if self._now() - finished < timedelta(seconds=interval):
                return
            # The next pass starts at the newest change the last one saw.
            since = progress.watermark - WATERMARK_OVERLAP if progress.watermark else progress.since
            progress = self._fresh(record.tenant_id, "reconcile", since)
        elif progress.state == "paused" and record.updated_at <= progress.updated_at:
            return
        elif self._not_yet(progress):
            return
        progress = progress.model_copy(update={"state": "running", "error": None})
        await self._walk(record.tenant_id, target, progress, created_after=floor)

    def _not_yet(self, progress: WalkProgress) -> bool:
        """Waiting for Unthread, and its next try is not due."""
        due = progress.retry_at
        return progress.state == "waiting" and due is not None and self._now() < due

    async def _walk(
        self,
        tenant_id: str,
        target: UnthreadTarget,
        progress: WalkProgress,
        *,
        created_after: datetime | None,
    ) -> None:
        def keep_going() -> bool:
            record = self._integrations.record(tenant_id)
            if record is None or record.status != "connected":
                return False  # disconnected (or flagged) meanwhile: its events would be skipped
            paused = progress.kind == "import" and record.import_paused
            return not (self._stopping() or paused or not self.owns(tenant_id))

        window = OutstandingEvents(self._max_outstanding, self._handled)
        walk = SourceWalk(
            unthread=self._unthread, save=self._save, now=self._now, keep_going=keep_going,
            produce=window.paced(self._send, self._partition_of, keep_going),
        )  # fmt: skip
        with background_calls():
            result = await walk.run(target, progress, created_after=created_after)
        if result.state == "paused" and result.error == "unthread_auth_failed":
            await self._key_refused(tenant_id)
        log.info(
            "source walk stopped",
            extra={"tenant": tenant_id, "kind": result.kind, "state": result.state,
                   "conversations": result.conversations, "error": result.error},
        )  # fmt: skip

    async def _key_refused(self, tenant_id: str) -> None:
        """Unthread refused the key: the integration needs attention, as when a look-up is
        refused (its events park until the tenant reconnects with a working key)."""
        tenant = self._integrations.tenant(tenant_id)
        if tenant is not None:
            await self._integrations.mark_needs_attention(tenant, "unthread_auth_failed")

    def _fresh(self, tenant_id: str, kind: WalkKind, since: datetime) -> WalkProgress:
        now = self._now()
        return WalkProgress(
            tenant_id=tenant_id, kind=kind, since=since, started_at=now, updated_at=now
        )

    async def _save(self, progress: WalkProgress) -> None:
        await self._publish(progress)
        self._walks.put(progress)
