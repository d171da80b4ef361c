"""A small world for processor tests: one tenant, its people in an in-memory Vitally.

Jane (customer, jane@customer.example) submits; Sam (sam@vendor.example) is the assignee;
ops@vendor.example is the tenant's Default Admin. Events are built with ``demo.events``, so
they have exactly the input topic's shape, and parsed the way the stream layer parses them.
"""

from __future__ import annotations

from typing import Any

from demo import events as ev

from processors.clock import FrozenClock
from processors.directory import CachedDirectory
from processors.protocols import Collaborators
from processors.results import SyncResult
from processors.sync import process_event
from processors.tenant import TenantContext
from schemas.events import ConversationEvent, InboundEvent, MessageEvent, parse_event
from schemas.state import ConversationState
from schemas.vitally import VitallyAdmin, VitallyUser
from tests.fakes import InMemoryVitally, tenant_context

TENANT = "T01ACME"
CONV = "c0f1e2d3-0000-4000-8000-000000000001"
# The conversation in Unthread, by the default template.
UNTHREAD_LINK = f"https://app.unthread.io/dashboard/conversations/{CONV}"
JANE = "jane@customer.example"
JOE = "joe@customer.example"  # Jane's colleague
SAM = "sam@vendor.example"
KIM = "kim@vendor.example"  # another teammate
OPS = "ops@vendor.example"  # the Default Admin
MAX_BYTES = 1 << 20


def parse(record: ev.Record) -> InboundEvent:
    return parse_event(record.key, record.value, max_bytes=MAX_BYTES)


def created(
    *,
    title: str | None = "CSV export fails",
    text: str = "Hi, *export* fails",
    submitter: str | None = JANE,
    assignee: str | None = SAM,
    initial: dict[str, Any] | None = None,
    no_initial: bool = False,
    conversation_id: str = CONV,
    tenant_id: str = TENANT,
    **extra: Any,
) -> ev.Record:
    """A conversation_created record; the initial message is Jane's unless given."""
    if initial is None and not no_initial:
        initial = ev.message(
            conversation_id, text, message_id="m_initial", sender=submitter, external=True
        )
    data = ev.conversation(
        conversation_id,
        title=title,
        submitter=submitter,
        assignee=assignee,
        initial=initial,
        **extra,
    )
    return ev.Record.of(conversation_id, ev.envelope(tenant_id, "conversation_created", data))


def updated(
    *,
    assignee: str | None,
    conversation_id: str = CONV,
    status: str = "in_progress",
    title: str | None = "CSV export fails",
    seconds: float = 60,
    **extra: Any,
) -> ev.Record:
    """A conversation_updated record: the standard conversation as it is ``seconds`` after
    it was created (its ``updatedAt``, and the event's time), with ``extra`` fields."""
    at = ev.later(ev.EPOCH, seconds)
    data = ev.conversation(
        conversation_id, title=title, submitter=JANE, assignee=assignee, status=status
    )
    data.update({"updatedAt": ev.iso(at), **extra})
    return ev.Record.of(conversation_id, ev.envelope(TENANT, "conversation_updated", data, at=at))


def deleted(conversation_id: str = CONV) -> ev.Record:
    data = ev.conversation(conversation_id, title=None, submitter=JANE)
    return ev.Record.of(conversation_id, ev.envelope(TENANT, "conversation_deleted", data))


def posted(
    text: str | None = "Any news?",
    *,
    message_id: str = "m_2",
    tenant_id: str = TENANT,
    **fields: Any,
) -> ev.Record:
    """A message_created record; ``fields`` are ``demo.events.message`` arguments."""
    fields.setdefault("sender", JANE)
    fields.setdefault("external", True)
    data = ev.message(CONV, text or "", message_id=message_id, **fields)
    data["text"] = text
    return ev.Record.of(CONV, ev.envelope(tenant_id, "message_created", data))


def revised(
    kind: str, text: str = "Any *news* at all?", *, message_id: str = "m_2", seconds: float = 600,
    **fields: Any,
) -> ev.Record:  # fmt: skip
    """A message_updated (edited ``seconds`` after it was sent) or message_deleted record."""
    at = ev.later(ev.EPOCH, seconds)
    data = ev.message(CONV, text, message_id=message_id, sender=JANE, external=True, **fields)
    data["updatedAt" if kind == "message_updated" else "deletedAt"] = ev.iso(at)
    envelope = ev.envelope(TENANT, kind, data, at=at)
    envelope.update(eventId=f"reconcile:{CONV}:{message_id}:{seconds}", syncOrigin="reconcile")
    return ev.Record.of(CONV, envelope)


class World:
    """Vitally, its cached directory and a connected tenant, with the usual people in it."""

    def __init__(self, tenant: TenantContext | None = None) -> None:
        self.vitally = InMemoryVitally()
        self.directory = CachedDirectory(self.vitally)
        self.tenant = tenant or tenant_context(TENANT, default_admin_email=OPS)
        self.clock = FrozenClock()
        tid = self.tenant.tenant_id
        self.jane: VitallyUser = self.vitally.add_user(tid, JANE, "Jane Doe")
        self.joe: VitallyUser = self.vitally.add_user(tid, JOE, "Joe")
        self.sam: VitallyAdmin = self.vitally.add_admin(tid, SAM)
        self.ops: VitallyAdmin = self.vitally.add_admin(tid, OPS)

    async def run(
        self,
        record: ev.Record,
        *,
        state: ConversationState | None = None,
        offset: int = 10,
        verify: bool = False,
        connected: bool = True,
    ) -> SyncResult:
        return await process_event(
            parse(record),
            offset,
            state=state,
            tenant=self.tenant if connected else None,
            calls=Collaborators(self.vitally, self.directory, self.clock),
            verify=verify,
        )

    async def synced_conversation(self, **kwargs: Any) -> ConversationState:
        """Sync the standard conversation; return the state later events see."""
        result = await self.run(created(**kwargs), offset=1)
        assert result.outcome == "synced", result
        assert result.state is not None
        self.vitally.calls.clear()
        return result.state


def conversation_event(record: ev.Record) -> ConversationEvent:
    event = parse(record)
    assert isinstance(event, ConversationEvent)
    return event


def message_event(record: ev.Record) -> MessageEvent:
    event = parse(record)
    assert isinstance(event, MessageEvent)
    return event
