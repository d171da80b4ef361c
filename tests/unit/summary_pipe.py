"""Audit records counted as the worker that writes them counts them, and read back as the
tenant API and ``status`` read them: a :class:`SummaryWriter` owning every partition,
publishing straight into a :class:`SummaryCounts`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from integrations.audit_summary import SummaryCounts, SummaryWriter
from integrations.kafka_config import KafkaSettings
from tests.unit.ops_records import T0

PARTITIONS = range(8)


class SummaryPipe:
    def __init__(self, clock: Callable[[], float] = lambda: T0 / 1000 + 60) -> None:
        self.reader = SummaryCounts(
            kafka=KafkaSettings(kafka_bootstrap_servers="unused:9092"), topic="summary",
            clock=clock,
        )  # fmt: skip
        self.published: list[tuple[bytes, bytes]] = []

        async def publish(key: bytes, value: bytes) -> None:
            self.published.append((key, value))
            self.reader.add(key, value)

        self.writer = SummaryWriter(publish, now_ms=lambda: T0)
        self.writer.begin(PARTITIONS)
        for partition in PARTITIONS:
            self.writer.adopt(partition, {})

    async def add(self, *records: bytes) -> None:
        for record in records:
            self.writer.add(json.loads(record))
        await self.writer.publish()

    def for_tenant(self, tenant_id: str) -> dict[str, Any]:
        return self.reader.for_tenant(tenant_id)

    def recent(self, tenant_id: str) -> dict[str, Any]:
        return self.reader.recent(tenant_id)

    def attention(self, tenant_id: str) -> dict[str, Any]:
        return self.reader.attention(tenant_id)
