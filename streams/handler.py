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
from typing import Any, Protocol

from apiclient.errors import ApiError, AuthError, NotFound, Rejected
from apiclient.priority import background_calls
from processors.clock import epoch_ms
from processors.enrichment import Enrichment, UnthreadLookup, enrich
from processors.protocols import Collaborators
from processors.results import HandOver, SyncResult, duplicate, skipped
from processors.sync import process_event
from processors.tenant import TenantContext
from schemas.audit import AuditRecord, Reason, SourceRef
from schemas.dead_letter import REDRIVEN_FROM, Failure, Headers, Stage
from schemas.events import (
    ConversationEvent,
    InboundEvent,
    InvalidEvent,
    MessageEvent,
    parse_event,
)
from schemas.state import MAX_ASIDE, ConversationState, ParkedEvent
from streams.logs import bind_event
from streams.parking import (
    BACKLOGGED,
    FOR_CREATE,
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
from streams.waiting import EventEntries, Slot, WaitingEvents
from unthread.errors import UnthreadError
from vitally.calls import count_calls
from vitally.errors import VitallyError
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
    # The record's own headers: a dead letter keeps them (a parked record's are not kept).
    headers: Headers = ()

    @property
    def ref(self) -> SourceRef:
        return SourceRef(topic=self.topic, partition=self.partition, offset=self.offset)

    @property
    def redriven(self) -> bool:
        """Produced again from the DLQ by ``vitally-sync dlq redrive``: what it asks of
        Vitally may have been done since it failed (its original replayed, another re-drive),
        so it is looked up before any write, as a record that may have been applied is."""
        return any(name == REDRIVEN_FROM for name, _ in self.headers)

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


class OutputFailed(Exception):
    """Kafka did not take an audit record or a dead letter, and will not before the worker
    stops: the one failure that stops the worker (unacked), for the record's outcome could
    not be kept. (A refusal while the worker runs is sent again: streams/delivery.py.)"""


class Outputs(Protocol):
    """Where audit records and dead letters go; one Kafka never takes raises
    :class:`OutputFailed`."""

    async def audit(self, record: AuditRecord) -> None: ...

    async def dead_letter(self, source: SourceRecord, failure: Failure) -> None: ...


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
    error_class: str = ""  # of a failure: the exception's, for the dead letter


class EventHandler:
    """Handles one record start to finish: parse, decide, call Vitally, remember, audit."""

    def __init__(
        self,
        *,
        tenants: Tenants,
        states: States,
        waiting: EventEntries,
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
        self._waiting = WaitingEvents(waiting)
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
        """Never raises but :class:`OutputFailed`: any other surprise ends the record as
        ``failed/internal_error`` in the DLQ, or, for a retry record, leaves the conversation
        waiting, tried again after the longest backoff."""
        try:
            if record.topic == self._retry_topic:
                return await self._resume(record)
            return await self._handle(record)
        except OutputFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - one record's surprise must not stop the worker
            log.exception("handling failed", extra={"error": type(exc).__name__})
            if record.topic == self._retry_topic:
                self._index.defer((record.value or b"").decode(), self._parking.later(self._now))
                return []
            return [await self._internal_error(record, exc)]

    @property
    def _now(self) -> int:
        return epoch_ms(self._clock)

    async def _handle(self, record: SourceRecord) -> list[AuditRecord]:
        try:
            event = self._parse(record)
        except InvalidEvent as exc:
            return [await self._reject(record, exc)]
        bind_event(tenant=event.tenant_id, conversation=event.conversation_id)
        key = state_key(event.tenant_id, event.conversation_id)
        state = self._load(key)
        if state is not None and self._waiting.parks(key, state, _source(record)):
            return [await self._emit(record, event, duplicate("already_parked", state), 1, 0)]
        if state is not None and state.applied(record.offset):
            # A replay or redelivery: answered at once, never queued behind a parked event.
            return [await self._emit(record, event, duplicate("already_synced", state), 1, 0)]
        # Asked before anything is decided: a record that is parked unattempted must keep it,
        # for it is resumed later by a retry record that is itself new.
        maybe_applied = record.redriven or await self._maybe_applied(record)
        head = self._waiting.head(key, state) if state is not None else None
        for_create = head is not None and head.event.reason == FOR_CREATE
        if state is not None and head is not None and for_create and _creates(event):
            # The create its follow-ups wait for: it goes first, and they are due after it.
            self._waiting.due_now(key, head, self._now)
        elif state is not None and state.queue.queued:
            attempt = _Attempt(skipped(WAITING), 0, 0, park=WAITING, verify=maybe_applied)
            return await self._settle(record, event, key, state, attempt, None, for_create)
        attempt = await self._attempt(record, event, state, maybe_applied)
        return await self._settle(record, event, key, state, attempt, None, for_create)

    async def _resume(self, record: SourceRecord) -> list[AuditRecord]:
        """A retry record: work through the conversation's parked events, the queue in order,
        then each message set aside for a missing person on its own."""
        key = (record.value or b"").decode()
        maybe_applied = await self._maybe_applied(record)
        audits: list[AuditRecord] = []
        tried: set[tuple[str, int, int]] = set()  # each at most once per retry record
        while not self._stopping():
            state = self._load(key)
            # Woken: the tenant's Vitally answers again (streams.vitally_health).
            slot = self._next_due(key, state, tried, woken=self._index.woken(key))
            if state is None or slot is None:
                if state is not None and not tried:
                    # Woken for nothing (a re-check of a tenant that still needs attention):
                    # the index goes back to the head's own time, no retry every 30 s.
                    self._reindex(key, state)
                break
            head = slot.event
            source = SourceRecord.parked(head)
            bind_event(topic=source.topic, partition=source.partition, offset=source.offset)
            try:
                event = self._parse(source)
            except InvalidEvent as exc:
                audits.append(await self._reject(source, exc))
                self._write(key, self._waiting.remove(key, state, slot))
                continue
            bind_event(tenant=event.tenant_id, conversation=event.conversation_id)
            # The queue's head runs as the conversation's next event.
            await self._forget_misses_on_recheck(head, state.tenant_id)
            attempt = await self._attempt(
                source, event, state, head.verify or maybe_applied, head.unsure_at
            )
            audits += await self._settle(source, event, key, state, attempt, slot)
            tried.add(slot.source)
        return audits

    def _next_due(
        self,
        key: str,
        state: ConversationState | None,
        tried: set[tuple[str, int, int]],
        *,
        woken: bool,
    ) -> Slot | None:
        """The queue's head when it is due, else the first due message set aside. ``woken``:
        what waits for Vitally is due although its backoff has not passed."""
        if state is None:
            return None
        return next(
            (
                slot
                for slot in self._waiting.candidates(key, state)
                if slot.source not in tried
                and (self._due(slot.event, state) or (woken and slot.event.reason in TRANSIENT))
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

    def _due(self, head: ParkedEvent, state: ConversationState) -> bool:
        tenant_id, now = state.tenant_id, epoch_ms(self._clock)
        if head.reason == WAITING:
            return True  # it only waited for the event before it, which is now resolved
        if head.reason == NEEDS_ATTENTION:  # due once reconnected, or to end it
            return not self._tenants.needs_attention(tenant_id) or head.next_attempt_at <= now
        if head.reason == FOR_CREATE:  # due once the create was handled, or to end it
            return state.status != "pending" or head.next_attempt_at <= now
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
        # An import's or reconciliation's event lets the tenant's live events call first.
        with count_calls() as calls, background_calls(event.sync_origin is not None):
            while True:
                attempt += 1
                try:
                    result = await self._process(record, event, state, tenant, verify, unsure_at)
                except HandOver:
                    handed = skipped(HANDOVER)
                    return _Attempt(handed, attempt, calls.value, HANDOVER, verify, unsure_at)
                except ApiError as exc:
                    # Vitally's and Unthread's failures alike (apiclient.errors); the one place
                    # they differ is what an event that gives up on them ends as (_ENDINGS).
                    verify = verify or exc.maybe_applied
                    unsure_at = epoch_ms(self._clock) if exc.maybe_applied else unsure_at
                    ended = await self._api_failed(exc, tenant, attempt)
                    if ended is None:
                        continue
                    verdict, park = ended
                    klass = _class_name(exc) if verdict.outcome == "failed" else ""
                    return _Attempt(verdict, attempt, calls.value, park, verify, unsure_at, klass)
                except Exception as exc:  # noqa: BLE001 - a bug must not lose the event: DLQ it
                    log.exception("processing failed", extra={"tenant": event.tenant_id})
                    failed = SyncResult("failed", "internal_error", detail=type(exc).__name__)
                    return _Attempt(failed, attempt, calls.value, error_class=_class_name(exc))
                if result.outcome == "skipped" and result.reason in PEOPLE:
                    park = result.reason
                    return _Attempt(result, attempt, calls.value, park, verify, unsure_at)
                if _before_its_create(result, state):
                    return _Attempt(result, attempt, calls.value, FOR_CREATE, verify, unsure_at)
                return _Attempt(result, attempt, calls.value)

    async def _process(
        self,
        record: SourceRecord,
        event: InboundEvent,
        state: ConversationState | None,
        tenant: TenantContext | None,
        verify: bool,
        unsure_at: int | None,
    ) -> SyncResult:
        """One attempt: fill in what the event leaves out, then sync it."""
        enriched = await self._enrich(event, tenant)
        result = await process_event(
            enriched.event, record.offset, state=state, tenant=tenant, calls=self._calls,
            verify=verify, unsure_since=unsure_at / 1000 if unsure_at else None,
        )  # fmt: skip
        return _unresolved(result, enriched, record.offset)

    async def _api_failed(
        self, exc: ApiError[Any], tenant: TenantContext | None, attempt: int
    ) -> tuple[SyncResult, Reason | None] | None:
        """What a failed call to either API means for the event: None to try again (after
        the policy's wait), else its result and why it parks (None: it does not)."""
        if isinstance(exc, AuthError):
            assert tenant is not None  # noqa: S101 - no tenant, no API call
            await self._tenants.mark_needs_attention(tenant, exc.reason)
            return skipped(NEEDS_ATTENTION, detail=exc.reason), NEEDS_ATTENTION
        # An unreadable answer to a Vitally write is retried too: the next attempt looks the
        # record up by its externalId (Vitally has no idempotency key), so it adopts what
        # Vitally made instead of failing or writing it twice.
        decision = self._retry.decide(exc, attempt, may_wait=not self._stopping())
        if isinstance(decision, GiveUp):
            return _given_up(exc, decision.park), decision.park
        log.warning(
            "API call failed, retrying",
            extra={"api": exc.api, "reason": exc.reason, "attempt": attempt,
                   "delay": round(decision.delay, 2)},
        )  # fmt: skip
        await self._sleep(decision.delay)
        return None

    async def _settle(
        self,
        record: SourceRecord,
        event: InboundEvent,
        key: str,
        state: ConversationState | None,
        attempt: _Attempt,
        slot: Slot | None,
        for_create: bool = False,
    ) -> list[AuditRecord]:
        """Write the outcome: park (again) or resolve, and audit every transition.
        ``for_create``: the conversation's queue waits for its create."""
        now = self._now
        head = slot.event if slot else None
        attempts = (head.attempts if head else 0) + attempt.attempts
        first = head.first_parked_at if head else now
        if attempt.park and not self._parking.gives_up(attempt.park, first, now):
            parked = ParkedEvent(
                topic=record.topic, partition=record.partition, offset=record.offset,
                key=(record.key or b"").decode(), value=(record.value or b"").decode(),
                reason=attempt.park, attempts=attempts, first_parked_at=first,
                next_attempt_at=self._parking.next_attempt(now, attempt.park, attempts, first),
                verify=attempt.verify, unsure_at=attempt.unsure_at, attempted_at=now,
            )  # fmt: skip
            overflow = self._park(key, event, state, parked, slot, for_create)
            if overflow is not None:
                await self._dead_letter(record, event.tenant_id, overflow, "park", attempts, first)
                return [await self._emit(record, event, overflow, attempts, attempt.calls)]
            if head is not None and head.reason == attempt.park:
                return []  # still blocked for the same reason: nothing new to report
            result = self._parked_result(event, attempt, parked.next_attempt_at - now)
            return [await self._emit(record, event, result, attempts, attempt.calls)]
        result = self._resolve(key, state, attempt, slot, record.offset)
        if result.outcome == "failed":
            await self._dead_letter(
                record, event.tenant_id, result, "sync", attempts, first, attempt.error_class
            )
        return [await self._emit(record, event, result, attempts, attempt.calls)]

    def _park(
        self,
        key: str,
        event: InboundEvent,
        state: ConversationState | None,
        parked: ParkedEvent,
        slot: Slot | None,
        for_create: bool,
    ) -> SyncResult | None:
        """Put ``parked`` where it waits: in the queue, before it (a create awaited), or
        aside. A failure (``parked_overflow``) when it cannot wait: too many set aside, or
        too large for a changelog record."""
        holder = state or ConversationState.placeholder(event.tenant_id, event.conversation_id)
        if not self._waiting.fits(key, parked):
            if slot is not None:
                self._write(key, self._waiting.remove(key, holder, slot))
            return SyncResult("failed", "parked_overflow", detail="too large to wait")
        front = for_create and _creates(event)  # before the follow-ups waiting for it
        if parked.reason == FOR_CREATE or (for_create and not front):
            # Before its create: the create's offset will pass it, unapplied.
            holder = holder.passed_over(parked.offset)
        if not _waits_alone(event, state, slot, parked.reason):
            self._write(key, self._waiting.enqueue(key, holder, parked, slot, front=front))
            return None
        if (slot is None or slot.kind == "q") and len(holder.queue.aside) >= MAX_ASIDE:
            if slot is not None:
                self._write(key, self._waiting.remove(key, holder, slot))
            return SyncResult("failed", "parked_overflow", detail="too many set aside")
        # Only this message needs the missing person: the thread flows past it.
        holder = holder.passed_over(parked.offset)
        self._write(key, self._waiting.put_aside(key, holder, parked, slot))
        return None

    def _parked_result(self, event: InboundEvent, attempt: _Attempt, due_in: int) -> SyncResult:
        assert attempt.park is not None  # noqa: S101 - only what parks is reported so
        detail = attempt.result.detail
        if attempt.park in PEOPLE and detail is not None:
            log.info(
                "waiting for a person to be added to Vitally",
                extra={"tenant": event.tenant_id, "conversation": event.conversation_id,
                       "reason": attempt.park, "email": detail},
            )  # fmt: skip
            detail = missing_person(attempt.park, detail, due_in)
        return SyncResult("parked", attempt.park, detail=detail)

    def _resolve(
        self,
        key: str,
        state: ConversationState | None,
        attempt: _Attempt,
        slot: Slot | None,
        offset: int,
    ) -> SyncResult:
        """The event's outcome is final: it leaves what waits, and the state is written."""
        result = attempt.result
        if result.reason in PEOPLE and result.detail is not None:
            result = replace(result, detail=missing_person(result.reason, result.detail, None))
        rest = self._waiting.remove(key, state, slot) if state and slot else state
        if attempt.park == NEEDS_ATTENTION:
            # Its window passed with the tenant still needing attention: ended.
            result = SyncResult("skipped", "needs_attention_expired", detail=result.detail)
        if attempt.park in (NEEDS_ATTENTION, FOR_CREATE) and rest is not None:
            rest = rest.passed_over(offset)  # not applied: a replay handles it again
        if attempt.park == FOR_CREATE:
            result = replace(result, state=None)  # nothing of it applies to a placeholder
        base = result.state or rest
        if base is not None and rest is not None:
            base = base.keeping_waiting(rest)
        if base is not None and result.outcome == "failed":
            # Not applied, whatever is applied after it: a replay or a re-drive handles it again.
            base = base.passed_over(offset)
        if base is not None and result.outcome == "synced":
            base = base.settled(offset)
        if base is not None and base.status == "pending" and base.queue.empty:
            # A placeholder has no use once nothing waits in it; but a stored one that still
            # lists this event must be overwritten, or the event would be resumed forever.
            base = base if state is not None and not state.queue.empty else None
        if base is not None:
            self._write(key, base)
        return result

    async def _enrich(self, event: InboundEvent, tenant: TenantContext | None) -> Enrichment:
        """What the event leaves out, from Unthread when the tenant gave us a key."""
        if tenant is None:
            return Enrichment(event)
        return await enrich(event, target=tenant.unthread, lookup=self._unthread)

    def _write(self, key: str, state: ConversationState) -> None:
        self._states.put(key, state)
        self._reindex(key, state)

    def _reindex(self, key: str, state: ConversationState) -> None:
        candidates = [slot.event for slot in self._waiting.candidates(key, state)]
        self._index.update(key, state.tenant_id, candidates)

    def _load(self, key: str) -> ConversationState | None:
        """The conversation's entry; one written before the waiting table had its waiting
        events inline, which move to their own entries now."""
        state = self._states.get(key)
        if state is not None and (state.queue.legacy_parked or state.queue.legacy_aside):
            state = self._waiting.migrate(key, state)
            self._write(key, state)
        return state

    async def _dead_letter(
        self, record: SourceRecord, tenant_id: str | None, result: SyncResult, stage: Stage,
        attempts: int, first: int, error_class: str = "",
    ) -> None:  # fmt: skip
        await self._outputs.dead_letter(
            record,
            Failure(
                reason=result.reason or "failed", detail=result.detail or "", stage=stage,
                error_class=error_class, attempts=max(attempts, 1), first_attempt_at=first,
                failed_at=epoch_ms(self._clock), tenant_id=tenant_id,
            ),
        )  # fmt: skip

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

    async def _internal_error(self, record: SourceRecord, exc: Exception) -> AuditRecord:
        """The record is failed with what is surely serialisable: no field of the event."""
        now = self._now
        await self._outputs.dead_letter(
            record,
            Failure(
                reason="internal_error", detail=type(exc).__name__, stage="sync",
                error_class=_class_name(exc), attempts=1, first_attempt_at=now, failed_at=now,
            ),
        )  # fmt: skip
        audit = AuditRecord(
            tenant_id=None, conversation_id=None, message_id=None, event=None, event_id=None,
            source=record.ref, outcome="failed", reason="internal_error",
            detail=type(exc).__name__, processed_at=self._now,
        )  # fmt: skip
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
        now = audit.processed_at
        await self._outputs.dead_letter(
            record,
            Failure(
                reason=exc.kind, detail=exc.detail, stage="parse", error_class=_class_name(exc),
                attempts=1, first_attempt_at=now, failed_at=now, tenant_id=audit.tenant_id,
            ),
        )  # fmt: skip
        await self._outputs.audit(audit)
        return audit


def _waits_alone(
    event: InboundEvent,
    state: ConversationState | None,
    slot: Slot | None,
    reason: str,
) -> bool:
    """Whether a parked event waits aside rather than in the conversation's queue: a message
    of a conversation already in Vitally, held up only by its own sender or recipient. A
    conversation's creation, and anything after a transient failure, keep strict order."""
    if slot is not None and slot.kind == "a":
        return True
    return (
        reason in PEOPLE and isinstance(event, MessageEvent) and state is not None and state.synced
    )


def _creates(event: InboundEvent) -> bool:
    return isinstance(event, ConversationEvent) and event.event == "conversation_created"


def _before_its_create(result: SyncResult, state: ConversationState | None) -> bool:
    """A follow-up, update or delete of a conversation whose create has not been handled."""
    pending = state is None or state.status == "pending"
    return pending and result.outcome == "skipped" and result.reason == "conversation_not_synced"


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


def _source(record: SourceRecord) -> tuple[str, int, int]:
    return (record.topic, record.partition, record.offset)


@dataclass(frozen=True)
class _Ending:
    """What an event ends as when a failure of one API outlasts its retries."""

    # A 4xx but auth (a 404 included, README): repeating the request will not help.
    rejected: Reason
    # Any other failure; None: the reason the event waited for (parked) names it.
    otherwise: Reason | None
    # Neither a rejection nor a reason to wait (an answer that is not what was asked).
    unexpected: Reason


# The one map from an API to the reasons its failures end an event with.
_ENDINGS: dict[type[ApiError[Any]], _Ending] = {
    VitallyError: _Ending("vitally_rejected", "vitally_unavailable", "vitally_unavailable"),
    UnthreadError: _Ending("unthread_rejected", None, "unthread_rejected"),
}


def _given_up(exc: ApiError[Any], park: Reason | None) -> SyncResult:
    ending = next(e for family, e in _ENDINGS.items() if isinstance(exc, family))
    if isinstance(exc, NotFound | Rejected):
        reason = ending.rejected
    else:
        reason = ending.otherwise or park or ending.unexpected
    return SyncResult("failed", reason, detail=f"{exc.reason} {exc.method} {exc.path}")


def _class_name(exc: BaseException) -> str:
    kind = type(exc)
    return f"{kind.__module__}.{kind.__qualname__}"


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
