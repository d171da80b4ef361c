"""Every worker's view of which tenants are connected, fed by the compacted integrations topic.

Each worker reads the whole topic (no consumer group: every worker needs every tenant) from
the beginning, then keeps tailing it, so a connect, reconnect or disconnect made through any
worker or the CLI reaches all workers within moments. A Faust GlobalTable would do the same
but is known to loop in recovery with several workers (faust-streaming#283).

API keys stay encrypted in the records; they are decrypted only to build the in-memory
:class:`~vitally.target.VitallyTarget` a processor needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from integrations.secrets import SecretBox, UndecryptableSecret, fingerprint
from integrations.tail import tail_topic
from processors.tenant import TenantContext
from schemas.integration import IntegrationRecord
from vitally.target import VitallyTarget

log = logging.getLogger(__name__)


class IntegrationStore:
    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        box: SecretBox,
        base_url_override: str | None,
        publish: Callable[[IntegrationRecord], Awaitable[None]] | None = None,
        on_reconnect: Callable[[str], None] | None = None,
    ) -> None:
        self._publish = publish
        self._on_reconnect = on_reconnect
        self._bootstrap = bootstrap_servers
        self._topic = topic
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

    def needs_attention(self, tenant_id: str) -> bool:
        record = self._records.get(tenant_id)
        return record is not None and record.status == "needs_attention"

    async def mark_needs_attention(self, tenant: TenantContext, reason: str) -> None:
        """Vitally rejected the tenant's key: stop using it until someone reconnects.

        Only when the rejected key is still the current one: a failure of a request made with
        the old key must not undo a reconnect that happened meanwhile.
        """
        record = self._records.get(tenant.tenant_id)
        if record is None or record.status != "connected":
            return
        if record.key_fingerprint != fingerprint(tenant.target.authorization):
            return
        flagged = record.model_copy(
            update={
                "status": "needs_attention",
                "status_reason": reason,
                "updated_at": datetime.now(UTC),
            }
        )
        log.error("tenant needs attention", extra={"tenant": tenant.tenant_id, "reason": reason})
        self.put(flagged)
        if self._publish is not None:
            await self._publish(flagged)

    def put(self, record: IntegrationRecord) -> None:
        """Apply a record this worker just wrote, before it comes back from the topic."""
        self._take(record.tenant_id, record)

    def apply(self, tenant_id: str, value: bytes | None) -> None:
        """Take one record from the topic (None is a tombstone: the tenant is forgotten)."""
        if value is None:
            self._take(tenant_id, None)
            return
        try:
            self._take(tenant_id, IntegrationRecord.from_json(value))
        except ValueError:
            log.error("unreadable integration record ignored", extra={"tenant": tenant_id})

    def _apply_record(self, key: bytes | None, value: bytes | None) -> None:
        if key is not None:
            self.apply(key.decode(), value)

    def _take(self, tenant_id: str, record: IntegrationRecord | None) -> None:
        previous = self._records.get(tenant_id)
        self._contexts.pop(tenant_id, None)
        if record is None:
            self._records.pop(tenant_id, None)
            return
        if previous is not None and record.updated_at < previous.updated_at:
            return  # our own newer write already applied; the topic caught up with an older one
        if (
            record.status == "needs_attention"
            and previous is not None
            and previous.key_fingerprint != record.key_fingerprint
        ):
            # A worker that had not yet seen a reconnect flagged the key it replaced: the
            # reconnect stands, or its new key would be swapped back for the rejected one.
            return
        self._records[tenant_id] = record
        woke = previous is not None and previous.status == "needs_attention"
        if record.status == "connected" and woke and self._on_reconnect is not None:
            self._on_reconnect(tenant_id)

    def tenants(self) -> list[IntegrationRecord]:
        return list(self._records.values())

    async def run(self) -> None:
        """Read the topic from the start, mark ready once caught up, then keep tailing."""

        def loaded() -> None:
            log.info("integrations loaded", extra={"tenants": len(self._records)})
            self.ready.set()

        await tail_topic(
            bootstrap_servers=self._bootstrap,
            topic=self._topic,
            on_record=self._apply_record,
            on_caught_up=loaded,
        )

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
