"""What the service remembers about each Unthread conversation (the conversations table).

The table is the source of truth for "what did we already do in Vitally": the Vitally
conversation id, who the customer and the conversation's admin are (later messages need
them), and the offsets and message ids already applied, so that redelivery and operator
replays are recognised as duplicates without asking Vitally.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from schemas.vitally import TraitValue

# Enough to recognise upstream re-sends of recent messages; older ones fall back to offsets.
RECENT_MESSAGE_IDS = 200
# Offsets below the applied one that were not applied; past this many the oldest are
# forgotten, and a replay of them is then answered as a duplicate.
UNAPPLIED_OFFSETS = 200

SyncStatus = Literal["pending", "synced", "skipped", "deleted"]


class ParkedEvent(BaseModel):
    """An input record waiting, in order, until what blocks it is resolved.

    The record itself is kept (it is replayed from here, not from the input topic, whose
    retention may be shorter than the re-check window).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    topic: str
    partition: int
    offset: int
    key: str
    value: str
    reason: str
    attempts: int = 0
    first_parked_at: int
    next_attempt_at: int
    # The last attempt may have reached Vitally: look before writing again.
    verify: bool = False
    # When a write of ours got no clear answer (ms): no look-up begins before Vitally may be
    # done with it, on whichever worker resumes the event.
    unsure_at: int | None = None
    # When it was last tried (ms): an operator's re-check after that makes it due at once.
    attempted_at: int | None = None


class ConversationState(BaseModel):
    """One conversation's entry in the conversations table: its Vitally ids, what was applied,
    what waits."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    tenant_id: str
    conversation_id: str
    status: SyncStatus
    skip_reason: str | None = None
    vitally_conversation_id: str | None = None
    customer_email: str | None = None
    customer_user_id: str | None = None
    assignee_email: str | None = None
    admin_id: str | None = None
    last_offset: int = -1
    message_ids: tuple[str, ...] = Field(default_factory=tuple)
    # Events waiting in order: everything later of the conversation queues behind the first.
    parked: tuple[ParkedEvent, ...] = Field(default_factory=tuple)
    # Messages of a synced conversation waiting for their sender to appear in Vitally: each
    # waits alone, the rest of the thread flows past it.
    aside: tuple[ParkedEvent, ...] = Field(default_factory=tuple)
    # Offsets at or below ``last_offset`` not applied: set aside, or skipped for a reason that
    # can change (a person missing). A replay handles them again.
    unapplied: tuple[int, ...] = Field(default_factory=tuple)
    # What the Vitally conversation shows, as we last wrote it, for updates to send only what
    # changed. None: written before these were kept (unknown, so the next update sends all).
    subject: str | None = None
    traits: dict[str, TraitValue] | None = None
    # When Unthread last changed the conversation data applied here (ms since the epoch:
    # updatedAt/statusUpdatedAt, else the event's time): an update from before it is stale.
    version_ms: int | None = None
    # The Vitally conversation was deleted (the tenant's onConversationDeleted is "delete").
    vitally_deleted: bool = False
    # When the worker last wrote this entry (ms), and the partition it lives in: what pruning
    # needs (streams.pruning). None: written before they were kept.
    touched_at: int | None = None
    partition: int | None = None

    @property
    def synced(self) -> bool:
        return self.status == "synced" and self.vitally_conversation_id is not None

    def with_message(self, message_id: str, offset: int) -> ConversationState:
        ids = (*self.message_ids, message_id)[-RECENT_MESSAGE_IDS:]
        unapplied = tuple(o for o in self.unapplied if o != offset)
        return self.model_copy(
            update={
                "message_ids": ids,
                "last_offset": max(self.last_offset, offset),
                "unapplied": unapplied,
            }
        )

    def at_offset(self, offset: int) -> ConversationState:
        return self.model_copy(update={"last_offset": max(self.last_offset, offset)})

    def passed_over(self, offset: int) -> ConversationState:
        """Later records may be applied, but not this one: a replay handles it again."""
        unapplied = (*(o for o in self.unapplied if o != offset), offset)[-UNAPPLIED_OFFSETS:]
        return self.at_offset(offset).model_copy(update={"unapplied": unapplied})

    def applied(self, offset: int) -> bool:
        """Whether the input record at ``offset`` was applied in Vitally, or settled for good:
        a replay or redelivery of it is a duplicate. A conversation that was skipped whole
        (never created in Vitally) has nothing applied: its records are handled again."""
        return (
            self.status in ("synced", "deleted")
            and offset <= self.last_offset
            and offset not in self.unapplied
        )

    def parks(self, source: tuple[str, int, int]) -> bool:
        return any((p.topic, p.partition, p.offset) == source for p in (*self.parked, *self.aside))

    @property
    def finished(self) -> bool:
        """Deleted, or closed in Unthread, with nothing waiting: what pruning may forget."""
        closed = (self.traits or {}).get("unthreadStatus") == "closed"
        deleted = self.status == "deleted" or self.vitally_deleted
        return not self.waiting and (deleted or closed)

    @property
    def waiting(self) -> tuple[ParkedEvent, ...]:
        """Every parked event, queued or aside."""
        return (*self.parked, *self.aside)

    @property
    def parked_bytes(self) -> int:
        return sum(len(p.value) for p in self.waiting)

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def placeholder(cls, tenant_id: str, conversation_id: str) -> ConversationState:
        """A conversation we know nothing about yet, but have to park events for."""
        return cls(tenant_id=tenant_id, conversation_id=conversation_id, status="pending")

    @classmethod
    def from_json(cls, raw: bytes) -> ConversationState:
        return cls.model_validate_json(raw)
