"""One input record, start to finish: parse, decide, call Vitally, remember, audit.

This is where the stream layer decides what a failure means (processors only raise):

* a record we cannot parse goes to the DLQ unchanged, with an audit record;
* a transient Vitally failure (timeout, 5xx, 429) is retried with backoff; an attempt after
  a failure that may have reached Vitally looks the record up before creating it again;
* a rejection (4xx) or exhausted retries end as ``failed``, with the record in the DLQ;
* every record ends with exactly one audit record, sent before its offset is acked.

It knows nothing of Faust: the app hands it plain records and small output ports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from processors.protocols import Clock, Directory, VitallyApi
from processors.results import SyncResult
from processors.sync import process_event
from processors.tenant import TenantContext
from schemas.audit import AuditRecord, Reason, SourceRef
from schemas.events import InboundEvent, InvalidEvent, parse_event
from schemas.state import ConversationState
from vitally.calls import count_calls
from vitally.errors import VitallyAuthError, VitallyError, VitallyRejected
from vitally.retry import RetryPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRecord:
    """The parts of a Kafka record we use (kept free of any client library's types)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def ref(self) -> SourceRef:
        return SourceRef(topic=self.topic, partition=self.partition, offset=self.offset)


class Tenants(Protocol):
    def tenant(self, tenant_id: str) -> TenantContext | None: ...


class States(Protocol):
    def get(self, key: str) -> ConversationState | None: ...

    def put(self, key: str, state: ConversationState) -> None: ...


class Outputs(Protocol):
    async def audit(self, record: AuditRecord) -> None: ...

    async def dead_letter(self, source: SourceRecord, reason: str, detail: str) -> None: ...


def state_key(tenant_id: str, conversation_id: str) -> str:
    # Conversation ids are unique per Unthread workspace only; the tenant makes them global.
    return f"{tenant_id}/{conversation_id}"


class EventHandler:
    def __init__(
        self,
        *,
        tenants: Tenants,
        states: States,
        outputs: Outputs,
        vitally: VitallyApi,
        directory: Directory,
        clock: Clock,
        retry: RetryPolicy,
        max_event_bytes: int,
        maybe_applied: Callable[[SourceRecord], Awaitable[bool]],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._tenants = tenants
        self._states = states
        self._outputs = outputs
        self._vitally = vitally
        self._directory = directory
        self._clock = clock
        self._retry = retry
        self._max_event_bytes = max_event_bytes
        self._maybe_applied = maybe_applied
        self._sleep = sleep

    async def handle(self, record: SourceRecord) -> AuditRecord:
        try:
            event = parse_event(record.key, record.value, max_bytes=self._max_event_bytes)
        except InvalidEvent as exc:
            return await self._reject(record, exc)
        with count_calls() as calls:
            result, attempts = await self._process(record, event)
        if result.state is not None:
            self._states.put(state_key(event.tenant_id, event.conversation_id), result.state)
        audit = AuditRecord(
            tenant_id=event.tenant_id,
            conversation_id=event.conversation_id,
            message_id=event.message_id,
            event=event.event,
            event_id=event.event_id,
            source=record.ref,
            outcome=result.outcome,
            reason=result.reason,
            detail=result.detail,
            vitally_conversation_id=result.vitally_conversation_id,
            vitally_message_id=result.vitally_message_id,
            api_calls=calls.value,
            attempts=attempts,
            event_timestamp=event.event_timestamp,
            processed_at=_now_ms(),
        )
        if result.outcome == "failed":
            await self._outputs.dead_letter(record, result.reason or "failed", result.detail or "")
        await self._outputs.audit(audit)
        return audit

    async def _process(self, record: SourceRecord, event: InboundEvent) -> tuple[SyncResult, int]:
        state = self._states.get(state_key(event.tenant_id, event.conversation_id))
        tenant = self._tenants.tenant(event.tenant_id)
        verify = await self._maybe_applied(record)
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await process_event(
                    event,
                    record.offset,
                    state=state,
                    tenant=tenant,
                    vitally=self._vitally,
                    directory=self._directory,
                    clock=self._clock,
                    verify=verify,
                )
                return result, attempt
            except VitallyError as exc:
                if not exc.transient or attempt >= self._retry.max_attempts:
                    return _failure(exc), attempt
                # Vitally has no idempotency key: after a write that may have landed, the next
                # attempt looks the record up by its externalId before writing again.
                verify = verify or exc.maybe_applied
                delay = self._retry.jittered(self._retry.delay(attempt, exc))
                log.warning(
                    "vitally call failed, retrying",
                    extra={"reason": exc.reason, "attempt": attempt, "delay": round(delay, 2)},
                )
                await self._sleep(delay)
            except Exception as exc:  # noqa: BLE001 - a bug must not lose the event: DLQ it
                log.exception("processing failed", extra={"tenant": event.tenant_id})
                return SyncResult("failed", "internal_error", detail=type(exc).__name__), attempt

    async def _reject(self, record: SourceRecord, exc: InvalidEvent) -> AuditRecord:
        envelope = exc.envelope
        audit = AuditRecord(
            tenant_id=_str_or_none(envelope.get("tenantId")),
            conversation_id=record.key.decode("utf-8", "replace") if record.key else None,
            message_id=None,
            event=_str_or_none(envelope.get("event")),
            event_id=_str_or_none(envelope.get("eventId")),
            source=record.ref,
            outcome="failed",
            reason="invalid_event",
            detail=exc.kind,
            event_timestamp=_int_or_none(envelope.get("eventTimestamp")),
            processed_at=_now_ms(),
            api_calls=0,
        )
        log.warning("invalid record sent to the DLQ", extra={"kind": exc.kind, **record.ref.model_dump()})
        await self._outputs.dead_letter(record, exc.kind, exc.detail)
        await self._outputs.audit(audit)
        return audit


def _failure(exc: VitallyError) -> SyncResult:
    reason: Reason
    if isinstance(exc, VitallyAuthError):
        reason = "vitally_auth_failed"
    elif isinstance(exc, VitallyRejected):
        reason = "vitally_rejected"
    else:
        reason = "vitally_unavailable"
    return SyncResult("failed", reason, detail=f"{exc.reason} {exc.method} {exc.path}")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
