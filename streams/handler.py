"""One record, start to finish: parse, decide, call Vitally, remember, audit.

This is where the stream layer decides what a failure means (processors only raise):

* a record we cannot parse goes to the DLQ unchanged, with an audit record;
* a transient Vitally failure (timeout, 5xx, 429) is retried in line with backoff; an attempt
  after a failure that may have reached Vitally looks the record up before writing again;
* what may clear by itself is parked (:mod:`streams.parking`): retries exhausted, the
  tenant's key rejected, a person not yet in Vitally. A conversation with a parked event
  queues its later events behind it;
* a rejection (4xx) ends as ``failed`` with the record in the DLQ;
* every input record ends with one audit record, and each parked event one more when it
  resolves, all sent before the record's offset is acked.

It knows nothing of Faust: the app hands it plain records and small ports. The module is
longer than most because the input path and the resume path share their settle step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from processors.clock import epoch_ms
from processors.enrichment import Enrichment, UnthreadLookup, enrich
from processors.protocols import Collaborators
from processors.results import HandOver, SyncResult, duplicate, skipped
from processors.sync import process_event
from processors.tenant import TenantContext
from schemas.audit import AuditRecord, Reason, SourceRef
from schemas.events import InboundEvent, InvalidEvent, MessageEvent, parse_event
from schemas.state import ConversationState, ParkedEvent
from streams.logs import bind_event
from streams.parking import (
    BACKLOGGED,
    HANDOVER,
    NEEDS_ATTENTION,
    PEOPLE,
    TRANSIENT,
    WAITING,
    ParkedIndex,
    ParkingPolicy,
    missing_person,
)
from streams.tenant_gate import TenantGate
from unthread.errors import UnthreadAuthError, UnthreadError
from vitally.calls import count_calls
from vitally.errors import (
    VitallyAuthError,
    VitallyError,
    VitallyNotFound,
    VitallyRejected,
)
from vitally.retry import GiveUp, RetryPolicy

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

    @classmethod
    def parked(cls, parked: ParkedEvent) -> SourceRecord:
        return cls(
            parked.topic, parked.partition, parked.offset, parked.key.encode(),
            parked.value.encode(),
        )  # fmt: skip


class Tenants(Protocol):
    """Which tenants are connected, and the needs-attention and re-check flags."""

    def tenant(self, tenant_id: str) -> TenantContext | None: ...

    def needs_attention(self, tenant_id: str) -> bool: ...

    async def mark_needs_attention(self, tenant: TenantContext, reason: str) -> None: ...

    def recheck_requested_at(self, tenant_id: str) -> int | None:
        """When an operator last asked to re-check the tenant's missing people (ms)."""
        ...


class States(Protocol):
    """The conversations table, as the handler reads and writes it."""

    def get(self, key: str) -> ConversationState | None: ...

    def put(self, key: str, state: ConversationState) -> None: ...


class Outputs(Protocol):
    """Where audit records and dead letters go."""

    async def audit(self, record: AuditRecord) -> None: ...

    async def dead_letter(self, source: SourceRecord, reason: str, detail: str) -> None: ...


def state_key(tenant_id: str, conversation_id: str) -> str:
    # Conversation ids are unique per Unthread workspace only; the tenant makes them global.
    return f"{tenant_id}/{conversation_id}"


@dataclass(frozen=True)
class _Attempt:
    result: SyncResult
    attempts: int
    calls: int
    park: Reason | None = None
    verify: bool = False
    unsure_at: int | None = None  # ms; see ParkedEvent.unsure_at


class EventHandler:
    """Handles one record start to finish: parse, decide, call Vitally, remember, audit."""

    def __init__(
        self,
        *,
        tenants: Tenants,
        states: States,
        outputs: Outputs,
        calls: Collaborators,
        unthread: UnthreadLookup,
        retry: RetryPolicy,
        parking: ParkingPolicy,
        index: ParkedIndex,
        retry_topic: str,
        max_event_bytes: int,
        maybe_applied: Callable[[SourceRecord], Awaitable[bool]],
        gate: TenantGate | None = None,
        stopping: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        # True while the worker stops or its partitions move: no more in-line retry waits, so
        # in-flight work ends within one Vitally timeout and what is left is parked for the
        # next owner, instead of holding up the rebalance.
        self._stopping = stopping
        self._gate = gate or TenantGate(cap=1 << 30)
        self._tenants = tenants
        self._states = states
        self._outputs = outputs
        self._calls = calls
        self._directory = calls.directory
        self._unthread = unthread
        self._clock = calls.clock
        self._retry = retry
        self._parking = parking
        self._index = index
        self._retry_topic = retry_topic
        self._max_event_bytes = max_event_bytes
        self._maybe_applied = maybe_applied
        self._sleep = sleep

    async def handle(self, record: SourceRecord) -> list[AuditRecord]:
        if record.topic == self._retry_topic:
            return await self._resume(record)
        try:
            event = self._parse(record)
        except InvalidEvent as exc:
            return [await self._reject(record, exc)]
        bind_event(tenant=event.tenant_id, conversation=event.conversation_id)
        key = state_key(event.tenant_id, event.conversation_id)
        state = self._states.get(key)
        if state is not None and state.parks((record.topic, record.partition, record.offset)):
            return [await self._emit(record, event, duplicate("already_parked", state), 1, 0)]
        if state is not None and state.applied(record.offset):
            # A replay or redelivery: answered at once, never queued behind a parked event.
            return [await self._emit(record, event, duplicate("already_synced", state), 1, 0)]
        # Asked before anything is decided: a record that is parked unattempted must keep it,
        # for it is resumed later by a retry record that is itself new.
        maybe_applied = await self._maybe_applied(record)
        if state is not None and state.parked:
            attempt = _Attempt(skipped(WAITING), 0, 0, park=WAITING, verify=maybe_applied)
            return await self._settle(record, event, key, state, attempt, None)
        attempt = await self._attempt(record, event, state, maybe_applied)
        return await self._settle(record, event, key, state, attempt, None)

    async def _resume(self, record: SourceRecord) -> list[AuditRecord]:
        """A retry record: work through the conversation's parked events, the queue in order,
        then each message set aside for a missing person on its own."""
        key = (record.value or b"").decode()
        maybe_applied = await self._maybe_applied(record)
        audits: list[AuditRecord] = []
        tried: set[tuple[str, int, int]] = set()  # each at most once per retry record
        while not self._stopping():
            state = self._states.get(key)
            # Woken: the tenant's Vitally answers again (streams.vitally_health).
            head = self._next_due(state, tried, woken=self._index.woken(key))
            if state is None or head is None:
                break
            source = SourceRecord.parked(head)
            bind_event(topic=source.topic, partition=source.partition, offset=source.offset)
            try:
                event = self._parse(source)
            except InvalidEvent as exc:
                audits.append(await self._reject(source, exc))
                self._write(key, _without(state, head))
                continue
            bind_event(tenant=event.tenant_id, conversation=event.conversation_id)
            # The queue's head runs as if nothing were parked (it is the conversation's next
            # event); a placeholder has no conversation yet, it stays one.
            await self._forget_misses_on_recheck(head, state.tenant_id)
            current = state
            if head in state.parked and state.status != "pending":
                current = state.model_copy(update={"parked": ()})
            attempt = await self._attempt(
                source, event, current, head.verify or maybe_applied, head.unsure_at
            )
            audits += await self._settle(source, event, key, state, attempt, head)
            tried.add(_source_of(head))
        return audits

    def _next_due(
        self, state: ConversationState | None, tried: set[tuple[str, int, int]], *, woken: bool
    ) -> ParkedEvent | None:
        """The queue's head when it is due, else the first due message set aside. ``woken``:
        what waits for Vitally is due although its backoff has not passed."""
        if state is None:
            return None
        candidates = (*state.parked[:1], *state.aside)
        return next(
            (
                event
                for event in candidates
                if _source_of(event) not in tried
                and (self._due(event, state.tenant_id) or (woken and event.reason in TRANSIENT))
            ),
            None,
        )

    def _rechecked(self, head: ParkedEvent, tenant_id: str) -> int | None:
        """When an operator asked to re-check missing people, if after ``head`` was tried."""
        if head.reason not in PEOPLE:
            return None
        asked = self._tenants.recheck_requested_at(tenant_id)
        return asked if asked is not None and asked > (head.attempted_at or 0) else None

    async def _forget_misses_on_recheck(self, head: ParkedEvent, tenant_id: str) -> None:
        asked = self._rechecked(head, tenant_id)
        tenant = self._tenants.tenant(tenant_id)
        if asked is not None and tenant is not None:
            await self._directory.forget_misses(tenant.target, asked)

    def _due(self, head: ParkedEvent, tenant_id: str) -> bool:
        if head.reason == WAITING:
            return True  # it only waited for the event before it, which is now resolved
        if head.reason == NEEDS_ATTENTION:
            return not self._tenants.needs_attention(tenant_id)
        if self._rechecked(head, tenant_id) is not None:
            return True  # people were added to Vitally: try now, not after the backoff
        return head.next_attempt_at <= epoch_ms(self._clock)

    async def _attempt(
        self,
        record: SourceRecord,
        event: InboundEvent,
        state: ConversationState | None,
        verify: bool,
        unsure_at: int | None = None,
    ) -> _Attempt:
        if self._stopping():
            # A rebalance waits for every event already admitted; started now, each would
            # hold it for a call, and a hot conversation's queue for one call per event.
            return _Attempt(skipped(HANDOVER), 0, 0, HANDOVER, verify, unsure_at)
        tenant = self._tenants.tenant(event.tenant_id)
        # Before "no tenant": a key this worker cannot decrypt parks, it is not "not connected".
        if self._tenants.needs_attention(event.tenant_id):
            return _Attempt(skipped(NEEDS_ATTENTION), 0, 0, NEEDS_ATTENTION, verify, unsure_at)
        if tenant is None:
            return await self._try(record, event, state, tenant, verify, unsure_at)
        if not self._gate.try_enter(tenant.tenant_id):
            return _Attempt(skipped(BACKLOGGED), 0, 0, BACKLOGGED, verify, unsure_at)
        try:
            return await self._try(record, event, state, tenant, verify, unsure_at)
        finally:
            self._gate.leave(tenant.tenant_id)

    async def _try(
        self,
        record: SourceRecord,
        event: InboundEvent,
        state: ConversationState | None,
        tenant: TenantContext | None,
        verify: bool,
        unsure_at: int | None,
    ) -> _Attempt:
        """Process with in-line retries; classify what is left as failed or to be parked."""
        attempt = 0
        with count_calls() as calls:
            while True:
                attempt += 1
                try:
                    enriched = await self._enrich(event, tenant)
                    result = await process_event(
                        enriched.event, record.offset, state=state, tenant=tenant,
                        calls=self._calls,
                        verify=verify, unsure_since=unsure_at / 1000 if unsure_at else None,
                    )  # fmt: skip
                    result = _unresolved(result, enriched, record.offset)
                except HandOver:
                    handed = skipped(HANDOVER)
                    return _Attempt(handed, attempt, calls.value, HANDOVER, verify, unsure_at)
                except VitallyAuthError as exc:
                    assert tenant is not None  # noqa: S101 - no tenant, no Vitally call
                    await self._tenants.mark_needs_attention(tenant, exc.reason)
                    rejected = skipped(NEEDS_ATTENTION, detail=exc.reason)
                    return _Attempt(
                        rejected, attempt, calls.value, NEEDS_ATTENTION, verify, unsure_at
                    )
                except VitallyError as exc:
                    verify = verify or exc.maybe_applied
                    unsure_at = epoch_ms(self._clock) if exc.maybe_applied else unsure_at
                    # An unreadable answer to a write is retried too: the next attempt looks
                    # the record up by its externalId (Vitally has no idempotency key), so it
                    # adopts what Vitally made instead of failing or writing it twice.
                    decision = self._retry.decide(exc, attempt, may_wait=not self._stopping())
                    if isinstance(decision, GiveUp):
                        return _Attempt(
                            _failure(exc), attempt, calls.value, decision.park, verify, unsure_at
                        )
                    delay = decision.delay
                    log.warning(
                        "vitally call failed, retrying",
                        extra={"reason": exc.reason, "attempt": attempt, "delay": round(delay, 2)},
                    )
                    await self._sleep(delay)
                    continue
                except UnthreadAuthError as exc:
                    assert tenant is not None  # noqa: S101 - no tenant, no Unthread call
                    await self._tenants.mark_needs_attention(tenant, exc.reason)
                    rejected = skipped(NEEDS_ATTENTION, detail=exc.reason)
                    return _Attempt(
                        rejected, attempt, calls.value, NEEDS_ATTENTION, verify, unsure_at
                    )
                except UnthreadError as exc:
                    decision = self._retry.decide(exc, attempt, may_wait=not self._stopping())
                    if isinstance(decision, GiveUp):
                        park = _unthread_park(exc) if decision.park is not None else None
                        failure = SyncResult(
                            "failed",
                            park or "unthread_rejected",
                            detail=f"{exc.reason} {exc.method} {exc.path}",
                        )
                        return _Attempt(failure, attempt, calls.value, park, verify, unsure_at)
                    log.warning(
                        "unthread call failed, retrying",
                        extra={"reason": exc.reason, "attempt": attempt},
                    )
                    await self._sleep(decision.delay)
                    continue
                except Exception as exc:  # noqa: BLE001 - a bug must not lose the event: DLQ it
                    log.exception("processing failed", extra={"tenant": event.tenant_id})
                    failed = SyncResult("failed", "internal_error", detail=type(exc).__name__)
                    return _Attempt(failed, attempt, calls.value)
                if result.outcome == "skipped" and result.reason in PEOPLE:
                    park = result.reason
                    return _Attempt(result, attempt, calls.value, park, verify, unsure_at)
                return _Attempt(result, attempt, calls.value)

    async def _settle(
        self,
        record: SourceRecord,
        event: InboundEvent,
        key: str,
        state: ConversationState | None,
        attempt: _Attempt,
        head: ParkedEvent | None,
    ) -> list[AuditRecord]:
        """Write the outcome: park (again) or resolve, and audit every transition."""
        now = epoch_ms(self._clock)
        queued = tuple(p for p in state.parked if p != head) if state else ()
        aside = tuple(p for p in state.aside if p != head) if state else ()
        attempts = (head.attempts if head else 0) + attempt.attempts
        first = head.first_parked_at if head else now
        if attempt.park and not self._parking.gives_up(attempt.park, first, now):
            parked = ParkedEvent(
                topic=record.topic, partition=record.partition, offset=record.offset,
                key=(record.key or b"").decode(), value=(record.value or b"").decode(),
                reason=attempt.park, attempts=attempts, first_parked_at=first,
                next_attempt_at=self._parking.next_attempt(now, attempt.park, attempts),
                verify=attempt.verify, unsure_at=attempt.unsure_at, attempted_at=now,
            )  # fmt: skip
            holder = state or ConversationState.placeholder(event.tenant_id, event.conversation_id)
            if _waits_alone(event, state, head, attempt.park):
                # Only this message needs the missing person: the thread flows past it.
                waiting = holder.passed_over(record.offset).model_copy(
                    update={"parked": queued, "aside": (*aside, parked)}
                )
            else:
                queue = (*queued, parked) if head is None and queued else (parked, *queued)
                waiting = holder.model_copy(update={"parked": queue, "aside": aside})
            if waiting.parked_bytes > self._parking.max_parked_bytes:
                overflow = SyncResult("failed", "parked_overflow", detail="too much parked")
                await self._outputs.dead_letter(record, "parked_overflow", "too much parked")
                return [await self._emit(record, event, overflow, attempts, attempt.calls)]
            self._write(key, waiting)
            if head is not None and head.reason == attempt.park:
                return []  # still blocked for the same reason: nothing new to report
            detail = attempt.result.detail
            if attempt.park in PEOPLE and detail is not None:
                log.info(
                    "waiting for a person to be added to Vitally",
                    extra={"tenant": event.tenant_id, "conversation": event.conversation_id,
                           "reason": attempt.park, "email": detail},
                )  # fmt: skip
                detail = missing_person(attempt.park, detail, parked.next_attempt_at - now)
            result = SyncResult("parked", attempt.park, detail=detail)
            return [await self._emit(record, event, result, attempts, attempt.calls)]
        result = attempt.result
        if result.reason in PEOPLE and result.detail is not None:
            result = replace(result, detail=missing_person(result.reason, result.detail, None))
        base = result.state or (state.model_copy(update={"parked": ()}) if state else None)
        if base is not None and base.status == "pending" and not queued and not aside:
            # A placeholder has no use once nothing waits in it; but a stored one that still
            # lists this event must be overwritten, or the event would be resumed forever.
            base = base if state is not None and state.waiting else None
        if base is not None:
            self._write(key, base.model_copy(update={"parked": queued, "aside": aside}))
        elif queued:
            holder = ConversationState.placeholder(event.tenant_id, event.conversation_id)
            self._write(key, holder.model_copy(update={"parked": queued}))
        if result.outcome == "failed":
            await self._outputs.dead_letter(record, result.reason or "failed", result.detail or "")
        return [await self._emit(record, event, result, attempts, attempt.calls)]

    async def _enrich(self, event: InboundEvent, tenant: TenantContext | None) -> Enrichment:
        """What the event leaves out, from Unthread when the tenant gave us a key."""
        if tenant is None:
            return Enrichment(event)
        return await enrich(event, target=tenant.unthread, lookup=self._unthread)

    def _write(self, key: str, state: ConversationState) -> ConversationState:
        self._states.put(key, state)
        self._index.update(key, state)
        return state

    def _parse(self, record: SourceRecord) -> InboundEvent:
        return parse_event(record.key, record.value, max_bytes=self._max_event_bytes)

    async def _emit(
        self, record: SourceRecord, event: InboundEvent, result: SyncResult, attempts: int,
        calls: int,
    ) -> AuditRecord:  # fmt: skip
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
            api_calls=calls,
            attempts=max(attempts, 1),
            event_timestamp=event.event_timestamp,
            processed_at=epoch_ms(self._clock),
            origin=event.sync_origin or "live",
        )
        await self._outputs.audit(audit)
        return audit

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
            processed_at=epoch_ms(self._clock),
        )
        log.warning(
            "invalid record sent to the DLQ", extra={"kind": exc.kind, **record.ref.model_dump()}
        )
        await self._outputs.dead_letter(record, exc.kind, exc.detail)
        await self._outputs.audit(audit)
        return audit


def _waits_alone(
    event: InboundEvent,
    state: ConversationState | None,
    head: ParkedEvent | None,
    reason: Reason,
) -> bool:
    """Whether a parked event waits aside rather than in the conversation's queue: a message
    of a conversation already in Vitally, held up only by its own sender or recipient. A
    conversation's creation, and anything after a transient failure, keep strict order."""
    if state is not None and head is not None and head in state.aside:
        return True
    return (
        reason in PEOPLE and isinstance(event, MessageEvent) and state is not None and state.synced
    )


def _unresolved(result: SyncResult, enriched: Enrichment, offset: int) -> SyncResult:
    """A sync skipped for want of what the event left out says which id could not be
    resolved, and, without an Unthread key, that one would fix it (and a replay then)."""
    if result.outcome != "skipped" or not enriched.unresolved:
        return result
    if result.reason not in ("no_sender_email", "no_initial_message"):
        return result
    ids = ", ".join(f"{u.where} {u.what} {u.by}={u.id}" for u in enriched.unresolved)
    if not enriched.needs_unthread_key:
        return replace(result, detail=f"not found in Unthread: {ids}")
    state = result.state.passed_over(offset) if result.state is not None else None
    detail = f"{ids} not resolved: connect an Unthread API key (unthreadApiKey) to look it up"
    return replace(result, reason="unthread_key_missing", detail=detail, state=state)


def _unthread_park(exc: UnthreadError) -> Reason:
    return (
        "unthread_rate_limited" if exc.reason == "unthread_rate_limited" else "unthread_unavailable"
    )


def _source_of(event: ParkedEvent) -> tuple[str, int, int]:
    return (event.topic, event.partition, event.offset)


def _without(state: ConversationState, event: ParkedEvent) -> ConversationState:
    return state.model_copy(
        update={
            "parked": tuple(p for p in state.parked if p != event),
            "aside": tuple(p for p in state.aside if p != event),
        }
    )


def _failure(exc: VitallyError) -> SyncResult:
    # Every 4xx answer, a 404 included (README): repeating the request will not help.
    rejected = isinstance(exc, VitallyRejected | VitallyNotFound)
    reason: Reason = "vitally_rejected" if rejected else "vitally_unavailable"
    return SyncResult("failed", reason, detail=f"{exc.reason} {exc.method} {exc.path}")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
