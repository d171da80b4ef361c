"""In-memory collaborators for processor and handler tests: real implementations, no mocks.

* :class:`InMemoryVitally` satisfies ``processors.protocols.VitallyApi`` (and the connection
  probe): people and conversations per tenant, every call recorded, scripted failures.
* :class:`InMemoryStates`, :class:`RecordingOutputs`, :class:`StaticTenants` are the ports of
  ``streams.handler.EventHandler``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from processors.tenant import TenantContext
from schemas.audit import AuditRecord
from schemas.dead_letter import Failure
from schemas.integration import OnConversationDeleted, OnVitallyConversationMissing
from schemas.kafka_limits import PRODUCER_MAX_REQUEST_BYTES, record_bytes
from schemas.state import ConversationState
from schemas.vitally import (
    ConversationCreate,
    ConversationUpdate,
    MessageCreate,
    Page,
    TraitValue,
    VitallyAdmin,
    VitallyConversation,
    VitallyConversationSummary,
    VitallyMessage,
    VitallyUser,
)
from streams.handler import SourceRecord
from unthread.target import UnthreadTarget
from vitally.calls import record_call
from vitally.errors import VitallyError, VitallyNotFound
from vitally.target import VitallyTarget

CONNECTED_AT = datetime(2026, 11, 1, tzinfo=UTC)
Call = tuple[str, tuple[object, ...]]
# Unique across instances, like Vitally's UUIDs: two fakes never hand out the same id.
_IDS = itertools.count(1)


def tenant_context(
    tenant_id: str = "T01ACME",
    *,
    default_admin_email: str = "ops@vendor.example",
    connected_at: datetime = CONNECTED_AT,
    unthread_key: str | None = None,
    backfill_since: datetime | None = None,
    on_conversation_deleted: OnConversationDeleted = "keep",
    on_vitally_conversation_missing: OnVitallyConversationMissing = "skip",
    sync_message_edits: bool = False,
    sync_message_deletions: bool = False,
) -> TenantContext:
    """A connected tenant whose calls go to a test host with its own key (and to a test
    Unthread with ``unthread_key``)."""
    target = VitallyTarget.for_tenant(
        tenant_id, tenant_id.lower(), "us", f"{tenant_id}-secret", "https://vitally.test"
    )
    unthread = (
        UnthreadTarget.for_tenant(tenant_id, unthread_key, "https://unthread.test/api")
        if unthread_key
        else None
    )
    return TenantContext(
        tenant_id, target, default_admin_email, connected_at, unthread,
        backfill_since=backfill_since, on_conversation_deleted=on_conversation_deleted,
        on_vitally_conversation_missing=on_vitally_conversation_missing,
        sync_message_edits=sync_message_edits, sync_message_deletions=sync_message_deletions,
    )  # fmt: skip


@dataclass
class StoredMessage:
    message: VitallyMessage
    body: MessageCreate


@dataclass
class StoredConversation:
    id: str
    body: ConversationCreate
    messages: list[StoredMessage] = field(default_factory=list)
    # What updates made of it, as Vitally would: the subject replaced, the traits merged.
    subject: str = ""
    traits: dict[str, TraitValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.subject = self.subject or self.body.subject
        self.traits = self.traits or dict(self.body.traits)

    def view(self) -> VitallyConversation:
        return VitallyConversation(
            id=self.id,
            external_id=self.body.external_id,
            subject=self.subject,
            messages=[m.message for m in self.messages],
        )


@dataclass
class _Account:
    users: dict[str, VitallyUser] = field(default_factory=dict)
    admins: dict[str, VitallyAdmin] = field(default_factory=dict)
    conversations: dict[str, StoredConversation] = field(default_factory=dict)


@dataclass
class _Failure:
    error: Exception
    after_write: bool


class InMemoryVitally:
    """Vitally for tests, per tenant (``VitallyTarget.tenant_id``).

    Each call is recorded in :attr:`calls` as ``(method, args)`` and counted like an HTTP
    request (``vitally.calls``), so the handler's ``apiCalls`` is meaningful. Failures are
    scripted per method: :meth:`fail_next` raises before doing anything, :meth:`apply_then_fail`
    performs the write and then raises (a "maybe applied" timeout or 5xx).
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._accounts: dict[str, _Account] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._holds: dict[str, asyncio.Event] = {}

    # -- arranging --------------------------------------------------------------------------

    def add_user(self, tenant_id: str, email: str, name: str | None = None) -> VitallyUser:
        user = VitallyUser(id=self._new_id("usr"), email=email, name=name)
        self._account(tenant_id).users[email.lower()] = user
        return user

    def add_admin(
        self, tenant_id: str, email: str, license_status: str | None = "active"
    ) -> VitallyAdmin:
        admin = VitallyAdmin(id=self._new_id("adm"), email=email, license_status=license_status)
        self._account(tenant_id).admins[email.lower()] = admin
        return admin

    def fail_next(self, method: str, error: Exception, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` raise ``error`` without any effect."""
        self._script(method, _Failure(error, after_write=False), times)

    def apply_then_fail(self, method: str, error: VitallyError, times: int = 1) -> None:
        """The next ``times`` writes of ``method`` land, then raise ``error`` (maybe applied)."""
        if method not in ("create_conversation", "add_message") or not error.maybe_applied:
            raise ValueError("only a write can fail after applying, with maybe_applied=True")
        self._script(method, _Failure(error, after_write=True), times)

    def hold(self, method: str) -> asyncio.Event:
        """Calls of ``method`` wait (after being recorded) until the returned event is set."""
        return self._holds.setdefault(method, asyncio.Event())

    # -- inspecting -------------------------------------------------------------------------

    def conversations(self, tenant_id: str) -> list[StoredConversation]:
        return list(self._account(tenant_id).conversations.values())

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    def count(self, method: str) -> int:
        return self.methods().count(method)

    def targets(self) -> list[VitallyTarget]:
        """The target of every call, in order (every call's first argument)."""
        return [args[0] for _, args in self.calls if isinstance(args[0], VitallyTarget)]

    # -- VitallyApi ---------------------------------------------------------------------------

    async def find_user_by_email(self, target: VitallyTarget, email: str) -> VitallyUser | None:
        await self._enter("find_user_by_email", target, email)
        return self._account(target.tenant_id).users.get(email.strip().lower())

    async def find_admin_by_email(self, target: VitallyTarget, email: str) -> VitallyAdmin | None:
        await self._enter("find_admin_by_email", target, email)
        return self._account(target.tenant_id).admins.get(email.strip().lower())

    async def get_conversation(
        self, target: VitallyTarget, conversation_id: str
    ) -> VitallyConversation | None:
        await self._enter("get_conversation", target, conversation_id)
        stored = self._account(target.tenant_id).conversations.get(conversation_id)
        return stored.view() if stored else None

    async def create_conversation(
        self, target: VitallyTarget, body: ConversationCreate
    ) -> VitallyConversation:
        failure = await self._enter("create_conversation", target, body)
        stored = StoredConversation(self._new_id("conv"), body)
        stored.messages = [self._message(stored.id, m) for m in body.messages]
        self._account(target.tenant_id).conversations[stored.id] = stored
        if failure is not None:
            raise failure
        return stored.view()

    async def add_message(
        self, target: VitallyTarget, conversation_id: str, body: MessageCreate
    ) -> VitallyMessage:
        failure = await self._enter("add_message", target, conversation_id, body)
        stored = self._account(target.tenant_id).conversations.get(conversation_id)
        if stored is None:
            raise ValueError(f"no conversation {conversation_id}")  # a test arranged it wrong
        message = self._message(conversation_id, body)
        stored.messages.append(message)
        if failure is not None:
            raise failure
        return message.message

    async def update_conversation(
        self, target: VitallyTarget, conversation_id: str, body: ConversationUpdate
    ) -> None:
        failure = await self._enter("update_conversation", target, conversation_id, body)
        stored = self._account(target.tenant_id).conversations.get(conversation_id)
        if stored is None:
            raise VitallyNotFound(
                404, method="PUT", path="/resources/conversations/{id}", body_excerpt=""
            )
        if body.subject is not None:
            stored.subject = body.subject
        for message in body.messages or []:
            # Upserted by externalId, keeping the stored message's id, as Vitally's PUT does.
            at = next((i for i, m in enumerate(stored.messages)
                       if m.message.external_id == message.external_id), None)  # fmt: skip
            replaced = self._message(conversation_id, message)
            if at is None:
                stored.messages.append(replaced)
            else:
                kept = replaced.message.model_copy(update={"id": stored.messages[at].message.id})
                stored.messages[at] = StoredMessage(kept, message)
        for name, value in (body.traits or {}).items():
            if value is None:
                stored.traits.pop(name, None)
            else:
                stored.traits[name] = value
        if failure is not None:
            raise failure

    async def delete_conversation(self, target: VitallyTarget, conversation_id: str) -> bool:
        failure = await self._enter("delete_conversation", target, conversation_id)
        gone = self._account(target.tenant_id).conversations.pop(conversation_id, None)
        if failure is not None:
            raise failure
        return gone is not None

    async def delete_message(self, target: VitallyTarget, message_id: str) -> bool:
        failure = await self._enter("delete_message", target, message_id)
        gone = False
        for stored in self._account(target.tenant_id).conversations.values():
            kept = [m for m in stored.messages if m.message.id != message_id]
            gone = gone or len(kept) < len(stored.messages)
            stored.messages = kept
        if failure is not None:
            raise failure
        return gone

    # -- ConnectionProbe ----------------------------------------------------------------------

    async def list_users(self, target: VitallyTarget, limit: int = 1) -> list[VitallyUser]:
        await self._enter("list_users", target, limit)
        return list(self._account(target.tenant_id).users.values())[:limit]

    async def list_conversations(
        self,
        target: VitallyTarget,
        limit: int = 100,
        cursor: str | None = None,
        sort_by: object = "createdAt",
    ) -> Page[VitallyConversationSummary]:
        """Newest first (no createdAt: the fake has no clock), ``limit`` per page."""
        await self._enter("list_conversations", target, limit, cursor)
        newest_first = list(self._account(target.tenant_id).conversations.values())[::-1]
        start = int(cursor or 0)
        results = [
            VitallyConversationSummary(id=c.id, external_id=c.body.external_id)
            for c in newest_first[start : start + limit]
        ]
        more = start + limit < len(newest_first)
        return Page[VitallyConversationSummary](
            results=results, next=str(start + limit) if more else None
        )

    # -- internals ----------------------------------------------------------------------------

    async def _enter(self, method: str, *args: object) -> Exception | None:
        """Record the call; raise a scripted failure now, or return one to raise after writing."""
        self.calls.append((method, args))
        record_call()
        held = self._holds.get(method)
        if held is not None:
            await held.wait()
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue.popleft()
        if not failure.after_write:
            raise failure.error
        return failure.error

    def _script(self, method: str, failure: _Failure, times: int) -> None:
        self._failures.setdefault(method, deque()).extend([failure] * times)

    def _message(self, conversation_id: str, body: MessageCreate) -> StoredMessage:
        message = VitallyMessage(
            id=self._new_id("msg"),
            external_id=body.external_id,
            conversation_id=conversation_id,
            type="inbound" if body.from_.type == "user" else "outbound",
            timestamp=body.timestamp,
            message=body.message,
            **{"from": body.from_.model_dump()},
            to=[p.model_dump() for p in body.to],
        )
        return StoredMessage(message, body)

    def _account(self, tenant_id: str) -> _Account:
        return self._accounts.setdefault(tenant_id, _Account())

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(_IDS)}"


class InMemoryStates:
    """The conversations table as a dict; every write is also kept in order."""

    def __init__(self) -> None:
        self.data: dict[str, ConversationState] = {}
        self.writes: list[tuple[str, ConversationState]] = []

    def get(self, key: str) -> ConversationState | None:
        return self.data.get(key)

    def put(self, key: str, state: ConversationState) -> None:
        self.data[key] = state
        self.writes.append((key, state))

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


class InMemoryEntries:
    """The waiting table as a dict of raw values; every write's size is counted."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.bytes_written = 0

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def put(self, key: str, value: bytes) -> None:
        # What Kafka would refuse (the worker stops on a changelog write it refused).
        if record_bytes(key.encode(), value) > PRODUCER_MAX_REQUEST_BYTES:
            raise ValueError(f"waiting entry of {record_bytes(key.encode(), value)} bytes")
        self.data[key] = value
        self.bytes_written += len(key) + len(value)

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


@dataclass(frozen=True)
class DeadLetter:
    source: SourceRecord
    failure: Failure

    @property
    def reason(self) -> str:
        return self.failure.reason

    @property
    def detail(self) -> str:
        return self.failure.detail


class RecordingOutputs:
    """Keeps every audit record and dead letter the handler sends."""

    def __init__(self) -> None:
        self.audits: list[AuditRecord] = []
        self.dead_letters: list[DeadLetter] = []

    async def audit(self, record: AuditRecord) -> None:
        # What Kafka would refuse, refused here too: a record that does not serialise, or
        # that does not fit a produce request.
        value = record.to_json()
        key = record.conversation_id.encode() if record.conversation_id else None
        if record_bytes(key, value) > PRODUCER_MAX_REQUEST_BYTES:
            raise ValueError(f"audit record of {record_bytes(key, value)} bytes")
        self.audits.append(record)

    async def dead_letter(self, source: SourceRecord, failure: Failure) -> None:
        self.dead_letters.append(DeadLetter(source, failure))


class StaticTenants:
    """A fixed set of connected tenants; a tenant flagged as needing attention stays so."""

    def __init__(self, *contexts: TenantContext) -> None:
        self.contexts = {c.tenant_id: c for c in contexts}
        self.flagged: dict[str, str] = {}
        self.rechecks: dict[str, int] = {}

    def tenant(self, tenant_id: str) -> TenantContext | None:
        return self.contexts.get(tenant_id)

    def needs_attention(self, tenant_id: str) -> bool:
        return tenant_id in self.flagged

    async def mark_needs_attention(self, tenant: TenantContext, reason: str) -> None:
        self.flagged[tenant.tenant_id] = reason

    def reconnect(self, tenant_id: str) -> None:
        self.flagged.pop(tenant_id, None)

    def recheck_requested_at(self, tenant_id: str) -> int | None:
        return self.rechecks.get(tenant_id)


class RecordedSleep:
    """An async sleep that returns at once and remembers what it was asked to wait; with a
    ``time``, that clock moves on by the wait."""

    def __init__(self, time: FakeTime | None = None) -> None:
        self.calls: list[float] = []
        self._time = time

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self._time is not None:
            self._time.seconds += seconds


class FakeTime:
    """A clock (processors.clock.Clock) that moves only when set or slept on; each sleep is
    recorded (rounded to ms). ``seconds`` is both its wall time since the epoch and its
    monotonic time."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.slept: list[float] = []

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.seconds, UTC)

    def monotonic(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.seconds += seconds
