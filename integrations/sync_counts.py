"""Sync counts per tenant, by outcome and by reason, read from the audit topic.

The audit topic is the record of what the service did, so the counts are taken from it rather
than kept alongside: every worker reads every partition from the beginning (no consumer group,
like :class:`integrations.store.IntegrationStore`) and keeps tailing, so a GET on any worker
counts the audit records of all of them. The counts therefore cover the audit topic's
retention, and count audit records: after a crash an event handled again is counted again
(the audit topic is at least once), and a parked event that later resolves counts twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from integrations.kafka_config import KafkaSettings
from integrations.tail import tail_topic

log = logging.getLogger(__name__)

# Tenant ids come from the input topic; a flood of made-up ones must not grow memory forever.
MAX_TENANTS = 100_000


@dataclass
class TenantCounts:
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)
    first_processed_at: int | None = None

    def add(self, outcome: str, reason: str | None, processed_at: int | None) -> None:
        self.by_outcome[outcome] += 1
        if reason:
            self.by_reason[reason] += 1
        if processed_at is not None and (
            self.first_processed_at is None or processed_at < self.first_processed_at
        ):
            self.first_processed_at = processed_at


class AuditCounts:
    """Counts of audit records per tenant; :meth:`run` feeds it from the audit topic."""

    def __init__(self, *, kafka: KafkaSettings, topic: str) -> None:
        self._kafka = kafka
        self._topic = topic
        self._tenants: dict[str, TenantCounts] = {}
        self._full_logged = False
        self.caught_up = asyncio.Event()

    def add(self, value: bytes | None) -> None:
        """Count one audit record; anything unreadable is skipped (the audit is not ours to fix)."""
        try:
            record = json.loads(value or b"")
        except (ValueError, RecursionError):
            return
        if not isinstance(record, dict):
            return
        tenant, outcome = record.get("tenantId"), record.get("outcome")
        if not isinstance(tenant, str) or not isinstance(outcome, str):
            return
        reason, processed_at = record.get("reason"), record.get("processedAt")
        counts = self._counts(tenant)
        if counts is not None:
            counts.add(
                outcome,
                reason if isinstance(reason, str) else None,
                processed_at if isinstance(processed_at, int) else None,
            )

    def for_tenant(self, tenant_id: str) -> dict[str, Any]:
        counts = self._tenants.get(tenant_id) or TenantCounts()
        since = counts.first_processed_at
        return {
            "total": sum(counts.by_outcome.values()),
            "byOutcome": dict(counts.by_outcome),
            "byReason": dict(counts.by_reason),
            # The oldest audit record counted: older ones have left the topic's retention.
            "since": datetime.fromtimestamp(since / 1000, UTC).isoformat() if since else None,
            # False while this worker is still reading the audit topic's history.
            "complete": self.caught_up.is_set(),
        }

    async def run(self) -> None:
        """Read the audit topic from the start, then keep tailing it."""

        def loaded() -> None:
            log.info("audit counts loaded", extra={"tenants": len(self._tenants)})
            self.caught_up.set()

        await tail_topic(
            kafka=self._kafka,
            topic=self._topic,
            on_record=lambda _key, value: self.add(value),
            on_caught_up=loaded,
        )

    def _counts(self, tenant: str) -> TenantCounts | None:
        counts = self._tenants.get(tenant)
        if counts is None:
            if len(self._tenants) >= MAX_TENANTS:
                if not self._full_logged:
                    log.warning("audit counts: too many tenants, new ones are not counted")
                    self._full_logged = True
                return None
            counts = self._tenants[tenant] = TenantCounts()
        return counts
