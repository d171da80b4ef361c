"""Per-tenant sync counts at a cost that does not grow with the audit topic: a compacted
summary topic.

The worker that writes an audit record counts it, keyed by tenant and by the input partition
the record came from (``T01ACME/3``): the partition's owner is the only writer of its keys, so
its figures are cumulative and never counted twice by two workers. Each worker publishes its
changed keys every few seconds (:class:`SummaryWriter`); compaction keeps the latest value
per key. Readers (every worker, for the tenant API, and ``vitally-sync status``) read that
topic whole and add a tenant's partitions up (:class:`SummaryCounts`), so a worker's start and
``status`` read at most tenants x partitions values (plus what compaction has not yet
folded), however many audit records there are.

A worker taking a partition over carries on from the partition's latest published values:
before it publishes for the partition it has read the summary topic up to the end it had when
the partition was assigned, which is after the previous owner's last values (published when
its partitions were revoked). A worker that dies without that last publish loses what it
counted since its previous one (at most ``AUDIT_SUMMARY_INTERVAL_SECONDS``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from integrations.kafka_config import KafkaSettings, aiokafka_config
from integrations.sync_counts import HOUR_MS, MAX_TENANTS, Problem, TenantCounts, count_record

log = logging.getLogger(__name__)

Publish = Callable[[bytes, bytes], Awaitable[None]]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class HourCounts(_Camel):
    """One hour's records by outcome: ``hour`` is the hour's start (ms since the epoch)."""

    hour: int
    by_outcome: dict[str, int]


class RecentSummary(_Camel):
    """What the console's last day and last sync read of a summary: only these fields, so
    reading them skips the failures and parked events."""

    tenant_id: str
    partition: int
    # Added later, so absent from older values: the newest 25 hours' outcomes (at most 25
    # entries, newest first), and the newest synced record's processedAt.
    last_day_hours: list[HourCounts] = []
    last_synced_at: int | None = None

    def recent_counts(self, counts: TenantCounts) -> TenantCounts:
        """``counts`` with this summary's hours and last sync added."""
        for hour in self.last_day_hours:
            counts.add_hour(hour.hour // HOUR_MS, Counter(hour.by_outcome))
        if self.last_synced_at is not None:
            counts.add_synced(self.last_synced_at)
        return counts


class TenantSummary(RecentSummary):
    """One tenant's counts for one input partition: the summary topic's value."""

    schema_version: int = 1
    published_at: int
    by_outcome: dict[str, int]
    by_reason: dict[str, int]
    # Outcomes of imported and reconciled events by origin (sync_counts.ORIGINS); absent
    # from values published before origins were counted.
    by_origin: dict[str, dict[str, int]] = {}
    # The oldest audit record counted (ms since the epoch).
    since: int | None
    # Problems as they are (camelCase fields; source as [topic, partition, offset]).
    recent_failures: list[Problem]
    parked: list[Problem]
    parked_truncated: bool

    @classmethod
    def of(
        cls, tenant_id: str, partition: int, counts: TenantCounts, published_at: int
    ) -> TenantSummary:
        return cls(
            tenant_id=tenant_id, partition=partition, published_at=published_at,
            by_outcome=dict(counts.by_outcome), by_reason=dict(counts.by_reason),
            by_origin={origin: dict(c) for origin, c in counts.by_origin.items()},
            since=counts.first_processed_at,
            recent_failures=list(counts.recent_failures),
            parked=list(counts.parked.values()),
            parked_truncated=counts.parked_truncated,
            last_day_hours=[
                HourCounts(hour=hour * HOUR_MS, by_outcome=dict(by_outcome))
                for hour, by_outcome in sorted(counts.hours.items(), reverse=True)
            ],
            last_synced_at=counts.last_synced_at,
        )  # fmt: skip

    def counts(self) -> TenantCounts:
        counts = TenantCounts(first_processed_at=self.since)
        counts.by_outcome.update(self.by_outcome)
        counts.by_reason.update(self.by_reason)
        counts.by_origin = {origin: Counter(c) for origin, c in self.by_origin.items()}
        counts.recent_failures = list(self.recent_failures)
        counts.parked = {p.source: p for p in self.parked}
        counts.parked_truncated = self.parked_truncated
        return self.recent_counts(counts)

    @property
    def key(self) -> bytes:
        return summary_key(self.tenant_id, self.partition)


Summary = TypeVar("Summary", bound=RecentSummary)


def summary_key(tenant_id: str, partition: int) -> bytes:
    return f"{tenant_id}/{partition}".encode()


class SummaryCounts:
    """The latest summary per tenant and partition, added up per tenant for the tenant API
    and ``status`` (the same answers ``syncCounts``, ``recentFailures`` and ``parked``), and
    for the console (:meth:`recent`)."""

    def __init__(
        self, *, kafka: KafkaSettings, topic: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._kafka = kafka
        self._topic = topic
        self._clock = clock
        # Per tenant and partition, the latest value as published.
        self._latest: dict[str, dict[int, bytes]] = {}
        self._full_logged = False
        self.caught_up = asyncio.Event()
        self._read = asyncio.Condition()
        self._position: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None

    def add(self, key: bytes | None, value: bytes | None) -> None:
        """Keep one summary record, unread: only the latest per key is ever read (a key's
        older values are many until compaction folds them)."""
        tenant, _, partition = (key or b"").decode(errors="replace").rpartition("/")
        if not tenant or not partition.isdigit():
            return
        if value is None:  # a tombstone: the key is gone
            self._latest.get(tenant, {}).pop(int(partition), None)
            return
        parts = self._latest.get(tenant)
        if parts is None:
            if len(self._latest) >= MAX_TENANTS:
                if not self._full_logged:
                    log.warning("audit summary: too many tenants, new ones are not shown")
                    self._full_logged = True
                return
            parts = self._latest[tenant] = {}
        parts[int(partition)] = value

    def of_partition(self, partition: int) -> dict[str, TenantCounts]:
        """Every tenant's latest counts for one input partition."""
        found = {}
        for tenant, parts in self._latest.items():
            summary = _read(parts.get(partition), tenant, partition, TenantSummary)
            if summary is not None:
                found[tenant] = summary.counts()
        return found

    def _tenant(self, tenant_id: str) -> TenantCounts:
        parts = self._latest.get(tenant_id, {})
        found = (
            _read(value, tenant_id, partition, TenantSummary) for partition, value in parts.items()
        )
        return merged(summary.counts() for summary in found if summary is not None)

    def for_tenant(self, tenant_id: str) -> dict[str, Any]:
        view = self._tenant(tenant_id).view()
        return {**view, "complete": self.caught_up.is_set()}

    def attention(self, tenant_id: str) -> dict[str, Any]:
        """``recentFailures`` and ``parked``: the tenant's records an operator acts on."""
        return self._tenant(tenant_id).attention()

    def recent(self, tenant_id: str) -> dict[str, Any]:
        """``lastDay`` (records by outcome over the last 24 whole hours and the current one)
        and ``lastSyncedAt`` (ISO, or None): the console's tenant activity."""
        total = TenantCounts()
        for partition, value in self._latest.get(tenant_id, {}).items():
            found = _read(value, tenant_id, partition, RecentSummary)
            if found is not None:
                found.recent_counts(total)
        return total.recent(int(self._clock() * 1000))

    async def run(self) -> None:
        """Read the summary topic from the start, then keep following it."""
        consumer = AIOKafkaConsumer(
            self._topic, **aiokafka_config(self._kafka), group_id=None,
            enable_auto_commit=False, auto_offset_reset="earliest",
        )  # fmt: skip
        await consumer.start()
        self._consumer = consumer
        try:
            while not consumer.assignment():
                await asyncio.sleep(0.1)
            end = await consumer.end_offsets(sorted(consumer.assignment()))
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                for records in batches.values():
                    for record in records:
                        self.add(record.key, record.value)
                for tp in consumer.assignment():
                    self._position[tp] = await consumer.position(tp)
                if not self.caught_up.is_set() and self._reached(end):
                    log.info("audit summary loaded", extra={"tenants": len(self._latest)})
                    self.caught_up.set()
                async with self._read:
                    self._read.notify_all()
        finally:
            self._consumer = None
            await consumer.stop()

    async def read_to_end(self) -> None:
        """Return once everything on the summary topic now has been read."""
        while self._consumer is None:
            await asyncio.sleep(0.1)
        end = await self._consumer.end_offsets(sorted(self._consumer.assignment()))
        async with self._read:
            await self._read.wait_for(lambda: self._reached(end))

    def _reached(self, end: dict[TopicPartition, int]) -> bool:
        return all(self._position.get(tp, -1) >= offset for tp, offset in end.items())


def _read(
    value: bytes | None, tenant_id: str, partition: int, model: type[Summary]
) -> Summary | None:
    """A summary read as ``model``; None when there is none, or it is unreadable or not the
    key's."""
    if value is None:
        return None
    try:
        summary = model.model_validate_json(value)
    except ValidationError:
        return None
    if (summary.tenant_id, summary.partition) != (tenant_id, partition):
        return None
    return summary


def merged(parts: Iterable[TenantCounts]) -> TenantCounts:
    """One tenant's counts over its partitions."""
    total = TenantCounts()
    for part in parts:
        total.by_outcome.update(part.by_outcome)
        total.by_reason.update(part.by_reason)
        for origin, outcomes in part.by_origin.items():
            total.by_origin.setdefault(origin, Counter()).update(outcomes)
        if part.first_processed_at is not None:
            total.add_since(part.first_processed_at)
        for failure in part.recent_failures:
            total.note(failure)
        total.parked.update(part.parked)
        total.parked_truncated |= part.parked_truncated
        for hour, by_outcome in part.hours.items():
            total.add_hour(hour, by_outcome)
        if part.last_synced_at is not None:
            total.add_synced(part.last_synced_at)
    return total


class SummaryWriter:
    """Counts the audit records this worker writes, per tenant and input partition it owns,
    and publishes the changed ones (:meth:`publish`, on a timer, and for partitions revoked).

    A partition assigned is counted from its latest published values once :meth:`adopt` hands
    them over; records written before that wait for them, in order.
    """

    def __init__(self, publish: Publish, now_ms: Callable[[], int]) -> None:
        self._publish = publish
        self._now_ms = now_ms
        self._counts: dict[tuple[str, int], TenantCounts] = {}
        self._dirty: set[tuple[str, int]] = set()
        self._adopted: set[int] = set()
        self._pending: dict[int, list[dict[str, Any]]] = {}

    def add(self, record: dict[str, Any]) -> None:
        """One audit record as published (its JSON object)."""
        source = record.get("source")
        tenant = record.get("tenantId")
        if not isinstance(source, dict) or not isinstance(tenant, str):
            return  # no tenant (an unreadable record): nothing to show it under
        partition = source.get("partition")
        if partition in self._pending:
            self._pending[partition].append(record)
        elif partition in self._adopted:
            self._count(tenant, partition, record)
        else:
            log.warning("audit summary: record of partition %s not owned; not counted", partition)

    def begin(self, partitions: Iterable[int]) -> None:
        """Partitions assigned: their records wait until :meth:`adopt`."""
        for partition in partitions:
            if partition not in self._adopted:
                self._pending.setdefault(partition, [])

    def adopt(self, partition: int, latest: dict[str, TenantCounts]) -> None:
        """Carry on from the partition's latest published counts (per tenant)."""
        waiting = self._pending.pop(partition, None)
        if waiting is None:
            return  # revoked meanwhile
        for tenant, counts in latest.items():
            self._counts[(tenant, partition)] = counts
        self._adopted.add(partition)
        for record in waiting:
            self._count(record["tenantId"], partition, record)

    async def publish(self) -> None:
        """Publish every changed tenant and partition."""
        await self._publish_keys(set(self._dirty))

    async def release(self, partitions: Iterable[int]) -> None:
        """Partitions revoked: publish their last counts, then forget them."""
        gone = set(partitions)
        for partition in gone:
            self._pending.pop(partition, None)
            self._adopted.discard(partition)
        await self._publish_keys({key for key in self._dirty if key[1] in gone})
        for key in [key for key in self._counts if key[1] in gone]:
            del self._counts[key]

    async def _publish_keys(self, keys: set[tuple[str, int]]) -> None:
        self._dirty -= keys
        now = self._now_ms()
        left = sorted(keys)
        while left:
            tenant, partition = left[0]
            counts = self._counts.get((tenant, partition))
            if counts is not None:
                summary = TenantSummary.of(tenant, partition, counts, now)
                try:
                    await self._publish(
                        summary.key, summary.model_dump_json(by_alias=True).encode()
                    )
                except Exception:  # noqa: BLE001 - counts must never stop the worker
                    # Kafka did not take it (in time): tried again with the next publish.
                    log.warning("audit summary not published", exc_info=True)
                    self._dirty |= set(left)
                    return
            left.pop(0)

    def _count(self, tenant: str, partition: int, record: dict[str, Any]) -> None:
        key = (tenant, partition)
        count_record(self._counts.setdefault(key, TenantCounts()), record)
        self._dirty.add(key)
