"""Every worker's view of which tenants are connected, fed by the compacted integrations topic.

Each worker reads the whole topic (no consumer group: every worker needs every tenant) from
the beginning, then keeps tailing it, so a connect, reconnect or disconnect made through any
worker or the CLI reaches all workers within moments. A Faust GlobalTable would do the same
but is known to loop in recovery with several workers (faust-notes.md section 5).

API keys stay encrypted in the records; they are decrypted only to build the in-memory
:class:`~vitally.target.VitallyTarget` a processor needs.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from processors.tenant import TenantContext
from schemas.integration import IntegrationRecord
from streams.crypto import SecretBox, UndecryptableSecret
from vitally.target import VitallyTarget

log = logging.getLogger(__name__)


class IntegrationStore:
    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        partitions: int,
        box: SecretBox,
        base_url_override: str | None,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._topic = topic
        self._partitions = [TopicPartition(topic, p) for p in range(partitions)]
        self._box = box
        self._override = base_url_override
        self._records: dict[str, IntegrationRecord] = {}
        self._contexts: dict[str, TenantContext] = {}
        self.ready = asyncio.Event()

    def record(self, tenant_id: str) -> IntegrationRecord | None:
        return self._records.get(tenant_id)

    def tenant(self, tenant_id: str) -> TenantContext | None:
        """The tenant's context when it is connected; None when it is not (or cannot be used)."""
        record = self._records.get(tenant_id)
        if record is None or record.status == "disconnected":
            return None
        context = self._contexts.get(tenant_id)
        if context is None:
            try:
                context = self._context(record)
            except UndecryptableSecret:
                log.error("tenant key cannot be decrypted", extra={"tenant": tenant_id})
                return None
            self._contexts[tenant_id] = context
        return context

    def apply(self, tenant_id: str, value: bytes | None) -> None:
        """Take one record from the topic (None is a tombstone: the tenant is forgotten)."""
        self._contexts.pop(tenant_id, None)
        if value is None:
            self._records.pop(tenant_id, None)
            return
        try:
            self._records[tenant_id] = IntegrationRecord.from_json(value)
        except ValueError:
            log.error("unreadable integration record ignored", extra={"tenant": tenant_id})

    def tenants(self) -> list[IntegrationRecord]:
        return list(self._records.values())

    async def run(self) -> None:
        """Read the topic from the start, mark ready once caught up, then keep tailing."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            partitions = self._partitions
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        if record.key is not None:
                            self.apply(record.key.decode(), record.value)
                if not self.ready.is_set() and all(
                    await asyncio.gather(*(_reached(consumer, tp, end[tp]) for tp in partitions))
                ):
                    log.info("integrations loaded", extra={"tenants": len(self._records)})
                    self.ready.set()
        finally:
            await consumer.stop()

    def _context(self, record: IntegrationRecord) -> TenantContext:
        api_key = self._box.decrypt(record.api_key_encrypted)
        return TenantContext(
            tenant_id=record.tenant_id,
            target=VitallyTarget.for_tenant(
                record.tenant_id, record.subdomain, record.region, api_key, self._override
            ),
            default_admin_email=record.default_admin_email,
            connected_at=record.connected_at,
        )


async def _reached(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> bool:
    return await consumer.position(tp) >= end
