"""Every worker's view of the imports and reconciliation passes, from the compacted
source-walks topic (one record per tenant and kind, see :mod:`schemas.source_walk`).

Read whole and tailed like the integrations topic, so any worker's GET shows the progress of a
walk another worker runs, and the worker that takes a tenant over resumes where it stood.
"""

from __future__ import annotations

import asyncio
import logging

from integrations.kafka_config import KafkaSettings
from integrations.tail import tail_topic
from schemas.source_walk import WalkKind, WalkProgress, walk_views

log = logging.getLogger(__name__)


class WalkStore:
    """The latest progress of each tenant's import and reconciliation."""

    def __init__(self, *, kafka: KafkaSettings, topic: str) -> None:
        self._kafka = kafka
        self._topic = topic
        self._walks: dict[bytes, WalkProgress] = {}
        self.ready = asyncio.Event()

    def get(self, tenant_id: str, kind: WalkKind) -> WalkProgress | None:
        return self._walks.get(WalkProgress.key(tenant_id, kind))

    def put(self, progress: WalkProgress) -> None:
        """Apply what this worker just wrote; an older record read back later is ignored."""
        self.apply(WalkProgress.key(progress.tenant_id, progress.kind), progress)

    def apply(self, key: bytes, progress: WalkProgress | None) -> None:
        if progress is None:
            self._walks.pop(key, None)
            return
        known = self._walks.get(key)
        if known is not None and (known.generation, known.updated_at) > (
            progress.generation,
            progress.updated_at,
        ):
            return
        self._walks[key] = progress

    def view(self, tenant_id: str) -> dict[str, object]:
        """What the tenant's GET shows: each walk's progress, or null."""
        return walk_views(lambda kind: self.get(tenant_id, kind))

    async def run(self) -> None:
        await tail_topic(
            kafka=self._kafka, topic=self._topic, on_record=self._record,
            on_caught_up=self.ready.set,
        )  # fmt: skip

    def _record(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        try:
            self.apply(key, None if value is None else WalkProgress.from_json(value))
        except ValueError:
            log.error("unreadable source-walk record ignored")
