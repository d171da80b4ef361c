"""Each tenant's recent activity, from the audit topic: outcomes over the last day, last sync.

What the console's tenant list shows next to the all-retention counts of
:mod:`integrations.sync_counts`: audit records counted per hour (by ``processedAt``), so that
"the last day" is the last 24 whole hours plus the current one, and the time of the tenant's
newest ``synced`` record. Buckets older than a day are dropped as records arrive; memory is at
most 25 small counters per tenant, for at most :data:`MAX_TENANTS` tenants.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeGuard

from integrations.audit_json import audit_fields
from integrations.kafka_config import KafkaSettings
from integrations.tail import tail_topic

HOUR_MS = 3_600_000
DAY_HOURS = 24
MAX_TENANTS = 100_000


@dataclass
class TenantActivity:
    hours: dict[int, Counter[str]] = field(default_factory=dict)
    last_synced_at: int | None = None

    def add(self, outcome: str, processed_at: int, now_hour: int) -> None:
        hour = processed_at // HOUR_MS
        if hour >= now_hour - DAY_HOURS:
            self.hours.setdefault(hour, Counter())[outcome] += 1
        if outcome == "synced" and (self.last_synced_at or 0) < processed_at:
            self.last_synced_at = processed_at
        for old in [h for h in self.hours if h < now_hour - DAY_HOURS]:
            del self.hours[old]

    def last_day(self, now_hour: int) -> dict[str, int]:
        total: Counter[str] = Counter()
        for hour, counts in self.hours.items():
            if hour >= now_hour - DAY_HOURS:
                total.update(counts)
        return dict(total)


class RecentActivity:
    """Per-tenant outcomes over the last day; :meth:`run` feeds it from the audit topic."""

    def __init__(
        self, *, kafka: KafkaSettings, topic: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._clock = clock
        self._tenants: dict[str, TenantActivity] = {}
        self.caught_up = asyncio.Event()

    def add(self, value: bytes | None) -> None:
        """Count one audit record; what is not one is skipped."""
        read = audit_fields(value)
        at = read[0].get("processedAt") if read else None
        if read is None or not _ms(at):
            return
        _, tenant, outcome = read
        activity = self._tenants.get(tenant)
        if activity is None:
            if len(self._tenants) >= MAX_TENANTS:
                return
            activity = self._tenants[tenant] = TenantActivity()
        activity.add(outcome, at, self._now_hour())

    def last_day(self, tenant_id: str) -> dict[str, int]:
        activity = self._tenants.get(tenant_id)
        return activity.last_day(self._now_hour()) if activity else {}

    def last_synced_at(self, tenant_id: str) -> str | None:
        activity = self._tenants.get(tenant_id)
        at = activity.last_synced_at if activity else None
        return datetime.fromtimestamp(at / 1000, UTC).isoformat() if at else None

    async def run(self) -> None:
        """Read the audit topic from the start, then keep tailing it."""
        await tail_topic(
            kafka=self._kafka,
            topic=self._topic,
            on_record=lambda _key, value: self.add(value),
            on_caught_up=self.caught_up.set,
        )

    def _now_hour(self) -> int:
        return int(self._clock() * 1000) // HOUR_MS


def _ms(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
