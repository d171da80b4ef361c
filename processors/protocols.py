"""The collaborators a processor is handed: Vitally, the people directory, the clock.

Each is a Protocol so processors are tested with in-memory fakes (tests/fakes.py) and run in
production with the real client, without any Kafka or environment in sight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from processors.clock import Clock
from processors.tenant import TenantContext
from schemas.state import ConversationState
from schemas.vitally import (
    ConversationCreate,
    ConversationUpdate,
    MessageCreate,
    Page,
    VitallyAdmin,
    VitallyConversation,
    VitallyConversationSummary,
    VitallyMessage,
    VitallyUser,
)
from vitally.target import VitallyTarget

__all__ = ["Clock", "Collaborators", "Directory", "Step", "VitallyApi"]


class VitallyApi(Protocol):
    """The Vitally calls a processor makes (vitally.client.VitallyClient in production)."""

    async def find_user_by_email(self, target: VitallyTarget, email: str) -> VitallyUser | None: ...

    async def find_admin_by_email(
        self, target: VitallyTarget, email: str
    ) -> VitallyAdmin | None: ...

    async def list_conversations(
        self, target: VitallyTarget, limit: int = 100, cursor: str | None = None
    ) -> Page[VitallyConversationSummary]: ...

    async def get_conversation(
        self, target: VitallyTarget, conversation_id: str
    ) -> VitallyConversation | None: ...

    async def create_conversation(
        self, target: VitallyTarget, body: ConversationCreate
    ) -> VitallyConversation: ...

    async def add_message(
        self, target: VitallyTarget, conversation_id: str, body: MessageCreate
    ) -> VitallyMessage: ...

    async def update_conversation(
        self, target: VitallyTarget, conversation_id: str, body: ConversationUpdate
    ) -> None: ...

    async def delete_conversation(self, target: VitallyTarget, conversation_id: str) -> bool: ...

    async def delete_message(self, target: VitallyTarget, message_id: str) -> bool: ...


class Directory(Protocol):
    """What Vitally already holds, per tenant (cached in production): people by email,
    conversations and messages by externalId (:mod:`processors.conversation_index`)."""

    async def user(self, target: VitallyTarget, email: str) -> VitallyUser | None: ...

    async def admin(self, target: VitallyTarget, email: str) -> VitallyAdmin | None: ...

    async def conversation(
        self,
        target: VitallyTarget,
        external_id: str,
        created_after: datetime | None,
        written_at: float | None = None,
    ) -> str | None: ...

    async def forget_misses(self, target: VitallyTarget, asked_at: int) -> None: ...

    async def message(
        self,
        target: VitallyTarget,
        conversation_id: str,
        external_id: str,
        written_at: float | None = None,
    ) -> str | None: ...


@dataclass(frozen=True)
class Collaborators:
    """What processors call: Vitally, the directory of people and conversations, the clock."""

    vitally: VitallyApi
    directory: Directory
    clock: Clock


@dataclass(frozen=True)
class Step:
    """One event's sync: the offset it was read at, what is known of its conversation and
    tenant, the collaborators, and whether a write of it may already be in Vitally (``verify``:
    look before any create; ``unsure_since``: when a write of it got no clear answer, epoch
    seconds)."""

    offset: int
    state: ConversationState | None
    tenant: TenantContext
    calls: Collaborators
    verify: bool = False
    unsure_since: float | None = None
