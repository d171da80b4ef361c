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


class ConversationState(BaseModel):
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
    parked: tuple[ParkedEvent, ...] = Field(default_factory=tuple)
    # What the Vitally conversation shows, as we last wrote it, for updates to send only what
    # changed. None: written before these were kept (unknown, so the next update sends all).
    subject: str | None = None
    traits: dict[str, TraitValue] | None = None
    # When Unthread last changed the conversation data applied here (ms since the epoch:
    # updatedAt/statusUpdatedAt, else the event's time): an update from before it is stale.
    version_ms: int | None = None
    # The Vitally conversation was deleted (the tenant's onConversationDeleted is "delete").
    vitally_deleted: bool = False

    @property
    def synced(self) -> bool:
        return self.status == "synced" and self.vitally_conversation_id is not None

    def with_message(self, message_id: str, offset: int) -> ConversationState:
        ids = (*self.message_ids, message_id)[-RECENT_MESSAGE_IDS:]
        return self.model_copy(update={"message_ids": ids, "last_offset": offset})

    def at_offset(self, offset: int) -> ConversationState:
        return self.model_copy(update={"last_offset": max(self.last_offset, offset)})

    def parks(self, source: tuple[str, int, int]) -> bool:
        return any((p.topic, p.partition, p.offset) == source for p in self.parked)

    @property
    def parked_bytes(self) -> int:
        return sum(len(p.value) for p in self.parked)

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def placeholder(cls, tenant_id: str, conversation_id: str) -> ConversationState:
        """A conversation we know nothing about yet, but have to park events for."""
        return cls(tenant_id=tenant_id, conversation_id=conversation_id, status="pending")

    @classmethod
    def from_json(cls, raw: bytes) -> ConversationState:
        return cls.model_validate_json(raw)
