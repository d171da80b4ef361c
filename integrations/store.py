"""Every worker's view of which tenants are connected, fed by the compacted integrations topic.

Each worker reads the whole topic (no consumer group: every worker needs every tenant) from
the beginning, then keeps tailing it, so a connect, reconnect or disconnect made through any
worker or the CLI reaches all workers within moments. A Faust GlobalTable would do the same
but is known to loop in recovery with several workers (docs/faust-pitfalls.md, 8).

API keys stay encrypted in the records; they are decrypted only to build the in-memory
:class:`~vitally.target.VitallyTarget` a processor needs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from integrations.kafka_config import KafkaSettings
from integrations.secrets import SecretBox, UndecryptableSecret, fingerprint
from integrations.tail import tail_topic
from processors.tenant import TenantContext
from schemas.integration import DEFAULT_UNTHREAD_URL_TEMPLATE, IntegrationRecord
from unthread.target import UnthreadTarget
from vitally.target import VitallyTarget

log = logging.getLogger(__name__)


class IntegrationStore:
    """Every tenant's integration, as this worker knows it from the integrations topic."""

    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        topic: str,
        box: SecretBox,
        base_url_override: str | None,
        unthread_base_url: str | None = None,
        publish: Callable[[IntegrationRecord], Awaitable[None]] | None = None,
        on_reconnect: Callable[[str], None] | None = None,
        on_recheck: Callable[[str], None] | None = None,
    ) -> None:
        self._publish = publish
        self._on_reconnect = on_reconnect
        self._on_recheck = on_recheck
        self._kafka = kafka
        self._topic = topic
        self._box = box
        self._override = base_url_override
        self._unthread_base_url = unthread_base_url
        self._records: dict[str, IntegrationRecord] = {}
        self._contexts: dict[str, TenantContext] = {}
        # Tenants whose stored key no key in SECRETS_KEY decrypts: needs_attention here (their
        # events park, never skip) until they reconnect or the worker gets the right key.
        self._undecryptable: set[str] = set()
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
                self._undecryptable.add(tenant_id)
                return None
            self._contexts[tenant_id] = context
        return context

    def recheck_requested_at(self, tenant_id: str) -> int | None:
        record = self._records.get(tenant_id)
        at = record.recheck_requested_at if record is not None else None
        return int(at.timestamp() * 1000) if at is not None else None

    def needs_attention(self, tenant_id: str) -> bool:
        """Vitally rejected the tenant's key, or this worker cannot decrypt it."""
        return self.attention_reason(tenant_id) is not None

    def attention_reason(self, tenant_id: str) -> str | None:
        record = self._records.get(tenant_id)
        if record is None or record.status == "disconnected":
            return None
        if tenant_id in self._undecryptable:
            return UndecryptableSecret.reason
        if record.status == "needs_attention":
            return record.status_reason or "needs_attention"
        return None

    def needing_attention(self) -> dict[str, str]:
        """Every tenant that needs attention, with why (for readiness)."""
        reasons = {t: self.attention_reason(t) for t in self._records}
        return {tenant: reason for tenant, reason in reasons.items() if reason is not None}

    def undecryptable(self) -> list[str]:
        return sorted(self._undecryptable)

    def secrets_key_decrypts_none(self) -> bool:
        """True when there are stored keys and SECRETS_KEY decrypts not one of them: the
        worker has the wrong key (its readiness fails), not a tenant a stale record."""
        return bool(self._records) and self._undecryptable >= set(self._records)

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
            self._undecryptable.discard(tenant_id)
            return
        if not record.supersedes(previous):
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
        was_stuck = tenant_id in self._undecryptable
        self._check_key(record)
        woke = previous is not None and (previous.status == "needs_attention" or was_stuck)
        woke = woke and tenant_id not in self._undecryptable
        if record.status == "connected" and woke and self._on_reconnect is not None:
            self._on_reconnect(tenant_id)
        asked = record.recheck_requested_at
        before = previous.recheck_requested_at if previous is not None else None
        if asked is not None and (before is None or asked > before) and self._on_recheck:
            self._on_recheck(tenant_id)

    def _check_key(self, record: IntegrationRecord) -> None:
        """Decrypt the key once as it arrives, so a key this worker cannot use is known (and
        logged) before the tenant's first event, not silently at it."""
        try:
            self._box.decrypt(record.api_key_encrypted)
        except UndecryptableSecret:
            if record.tenant_id not in self._undecryptable:
                log.error(
                    "tenant %s: its stored Vitally key cannot be decrypted with SECRETS_KEY; "
                    "its events park (integration_needs_attention) until it reconnects or the "
                    "worker runs with the key that encrypted it",
                    record.tenant_id, extra={"tenant": record.tenant_id},
                )  # fmt: skip
            self._undecryptable.add(record.tenant_id)
        else:
            self._undecryptable.discard(record.tenant_id)

    def tenants(self) -> list[IntegrationRecord]:
        return list(self._records.values())

    def by_status(self) -> dict[str, int]:
        return dict(Counter(record.status for record in self._records.values()))

    async def run(self) -> None:
        """Read the topic from the start, mark ready once caught up, then keep tailing."""

        def loaded() -> None:
            log.info("integrations loaded", extra={"tenants": len(self._records)})
            if self.secrets_key_decrypts_none():
                log.error(
                    "SECRETS_KEY decrypts none of the %s stored tenant keys: this worker has the "
                    "wrong SECRETS_KEY (readiness fails until it runs with the right one)",
                    len(self._records),
                )
            self.ready.set()

        await tail_topic(
            kafka=self._kafka,
            topic=self._topic,
            on_record=self._apply_record,
            on_caught_up=loaded,
        )

    def _context(self, record: IntegrationRecord) -> TenantContext:
        api_key = self._box.decrypt(record.api_key_encrypted)
        unthread = None
        if record.unthread_api_key_encrypted is not None:
            unthread = UnthreadTarget.for_tenant(
                record.tenant_id,
                self._box.decrypt(record.unthread_api_key_encrypted),
                self._unthread_base_url,
            )
        return TenantContext(
            tenant_id=record.tenant_id,
            target=VitallyTarget.for_tenant(
                record.tenant_id, record.subdomain, record.region, api_key, self._override
            ),
            default_admin_email=record.default_admin_email,
            connected_at=record.connected_at,
            backfill_since=record.backfill_since,
            on_conversation_deleted=record.on_conversation_deleted,
            on_vitally_conversation_missing=record.on_vitally_conversation_missing,
            unthread=unthread,
            unthread_url_template=record.unthread_url_template or DEFAULT_UNTHREAD_URL_TEMPLATE,
            import_since=record.import_since,
            sync_message_edits=record.sync_message_edits,
            sync_message_deletions=record.sync_message_deletions,
        )
