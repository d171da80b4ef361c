"""What the service remembers about each Unthread conversation (the conversations table).

The table is the source of truth for "what did we already do in Vitally": the Vitally
conversation id, who the customer and the conversation's admin are (later messages need
them), and the offsets and message ids already applied, so that redelivery and operator
replays are recognised as duplicates without asking Vitally.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from schemas.vitally import TraitValue

# Enough to recognise upstream re-sends of recent messages; older ones fall back to offsets.
RECENT_MESSAGE_IDS = 200
# Offsets below the applied one that were not applied; past this many the oldest are
# forgotten, and a replay of them is then answered as a duplicate.
UNAPPLIED_OFFSETS = 200

# Messages whose edit or deletion in Unthread was applied, remembered per conversation so that
# a reconciliation pass reading the conversation again sends nothing twice; past this many the
# oldest is forgotten (its edit, read again, is found already in Vitally by its text).
RECENT_REVISIONS = 100
# The mark of a message removed from Vitally in ``ConversationState.revised``.
REMOVED = -1

# Messages of one conversation waiting alone for a person missing from Vitally. Their sequence
# numbers are the one part of the waiting events the conversation's entry holds (under
# 150 KB of it at this bound, far below the producer's limit); a thread would need this
# many messages from people not in Vitally within the people window (7 days) to reach it.
# Past it a message goes to the DLQ as parked_overflow. The queue itself has no bound.
MAX_ASIDE = 10_000

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


class WaitingQueue(BaseModel):
    """Where a conversation's waiting events are, not the events: they live one per entry in
    the waiting table (:mod:`streams.waiting`), so holding n of them costs n writes of one
    event each, never a rewrite of all the others.

    The queue is the range ``head <= seq < tail``; ``aside`` lists the sequence numbers of the
    messages that wait alone, each removed when it resolves. ``legacy`` holds events a worker
    before this layout kept inline in the state; they move to the waiting table on the
    conversation's next write.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    head: int = 0
    tail: int = 0
    aside: tuple[int, ...] = Field(default_factory=tuple)
    next_aside: int = 0
    legacy_parked: tuple[ParkedEvent, ...] = Field(default_factory=tuple, exclude=True)
    legacy_aside: tuple[ParkedEvent, ...] = Field(default_factory=tuple, exclude=True)

    @property
    def queued(self) -> int:
        return self.tail - self.head

    @property
    def empty(self) -> bool:
        return self.queued == 0 and not self.aside

    def pushed_front(self) -> WaitingQueue:
        """One more event before the head (its sequence number is the new ``head``)."""
        return self.model_copy(update={"head": self.head - 1})

    def pushed(self) -> WaitingQueue:
        """One more event at the queue's tail (its sequence number is the old ``tail``)."""
        return self.model_copy(update={"tail": self.tail + 1})

    def popped(self) -> WaitingQueue:
        """The queue's head resolved: the next one is the head."""
        return self.model_copy(update={"head": min(self.head + 1, self.tail)})

    def set_aside(self) -> WaitingQueue:
        """One more message waiting alone (its sequence number is the old ``next_aside``)."""
        return self.model_copy(
            update={"aside": (*self.aside, self.next_aside), "next_aside": self.next_aside + 1}
        )

    def without_aside(self, seq: int) -> WaitingQueue:
        return self.model_copy(update={"aside": tuple(s for s in self.aside if s != seq)})


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
    # Messages edited or deleted in Unthread whose change was applied in Vitally: message id
    # -> the edit's time (ms), or REMOVED. Only such messages, at most RECENT_REVISIONS.
    revised: dict[str, int] = Field(default_factory=dict)
    # Events waiting in order (everything later of the conversation queues behind the first),
    # and messages of a synced conversation waiting alone for their sender to appear in
    # Vitally while the rest of the thread flows past: counters only, see WaitingQueue.
    queue: WaitingQueue = Field(default_factory=WaitingQueue)
    # Offsets at or below ``last_offset`` not applied: set aside, or skipped for a reason that
    # can change (a person missing). A replay handles them again.
    unapplied: tuple[int, ...] = Field(default_factory=tuple)
    # What the Vitally conversation shows, as we last wrote it, for updates to send only what
    # changed. None: written before these were kept (unknown, so the next update sends all).
    subject: str | None = None
    traits: dict[str, TraitValue] | None = None
    # When Unthread last changed the conversation data applied here, by the data's own
    # updatedAt/statusUpdatedAt (ms since the epoch): an update whose data is older is stale.
    version_ms: int | None = None
    # The latest event time (eventTimestamp, ms) applied: an update carrying no data time is
    # stale when its event time is older. Times of one kind are only compared with their kind.
    event_ms: int | None = None
    # The Vitally conversation was deleted (the tenant's onConversationDeleted is "delete").
    vitally_deleted: bool = False
    # Someone deleted the conversation in Vitally (a write answered 404): later events are
    # skipped, or it is created again, as the tenant's onVitallyConversationMissing says.
    vitally_missing: bool = False
    # When the worker last wrote this entry (ms), and the partition it lives in: what pruning
    # needs (streams.pruning). None: written before they were kept.
    touched_at: int | None = None
    partition: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _inline_events(cls, data: Any) -> Any:
        """A state written before the waiting table held its events inline: they are kept
        aside in ``queue.legacy_*`` until the next write moves them."""
        if not isinstance(data, dict) or ("parked" not in data and "aside" not in data):
            return data
        data = dict(data)
        parked, aside = data.pop("parked", None) or [], data.pop("aside", None) or []
        if parked or aside:
            data["queue"] = {"legacyParked": parked, "legacyAside": aside}
        return data

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

    def with_revision(self, message_id: str, version: int, offset: int) -> ConversationState:
        """The message's edit at ``version`` (ms), or its deletion (REMOVED), applied."""
        kept = [(m, v) for m, v in self.revised.items() if m != message_id]
        revised = dict([*kept, (message_id, version)][-RECENT_REVISIONS:])
        return self.at_offset(offset).model_copy(update={"revised": revised})

    def removed(self, message_id: str) -> bool:
        """The message was deleted in Unthread and removed here: nothing may revive it."""
        return self.revised.get(message_id) == REMOVED

    def at_offset(self, offset: int) -> ConversationState:
        return self.model_copy(update={"last_offset": max(self.last_offset, offset)})

    def passed_over(self, offset: int) -> ConversationState:
        """Later records may be applied, but not this one: a replay handles it again."""
        unapplied = (*(o for o in self.unapplied if o != offset), offset)[-UNAPPLIED_OFFSETS:]
        return self.at_offset(offset).model_copy(update={"unapplied": unapplied})

    def settled(self, offset: int) -> ConversationState:
        """The record at ``offset`` was applied after all (it waited for its create)."""
        if offset not in self.unapplied:
            return self
        return self.model_copy(
            update={"unapplied": tuple(o for o in self.unapplied if o != offset)}
        )

    def applied(self, offset: int) -> bool:
        """Whether the input record at ``offset`` was applied in Vitally, or settled for good:
        a replay or redelivery of it is a duplicate. A conversation that was skipped whole
        (never created in Vitally) has nothing applied: its records are handled again."""
        return (
            self.status in ("synced", "deleted")
            and offset <= self.last_offset
            and offset not in self.unapplied
        )

    def with_queue(self, queue: WaitingQueue) -> ConversationState:
        return self.model_copy(update={"queue": queue})

    def keeping_waiting(self, before: ConversationState) -> ConversationState:
        """This outcome, with what still waits in ``before``; from a placeholder, also the
        offsets it did not apply (a create starts the state afresh)."""
        kept = self.with_queue(before.queue)
        if before.status != "pending" or not before.unapplied:
            return kept
        unapplied = (*before.unapplied, *(o for o in kept.unapplied if o not in before.unapplied))
        return kept.model_copy(update={"unapplied": unapplied[-UNAPPLIED_OFFSETS:]})

    @property
    def finished(self) -> bool:
        """Deleted, or closed in Unthread, with nothing waiting: what pruning may forget."""
        closed = (self.traits or {}).get("unthreadStatus") == "closed"
        deleted = self.status == "deleted" or self.vitally_deleted
        return self.queue.empty and (deleted or closed)

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def placeholder(cls, tenant_id: str, conversation_id: str) -> ConversationState:
        """A conversation we know nothing about yet, but have to park events for."""
        return cls(tenant_id=tenant_id, conversation_id=conversation_id, status="pending")

    @classmethod
    def from_json(cls, raw: bytes) -> ConversationState:
        return cls.model_validate_json(raw)
