"""The one entry point the stream layer calls for every parsed event.

Tenant checks come first (a disconnected tenant's events are skipped, not failed); then an
event at or below the conversation's applied offset is a replay and is recognised without
calling Vitally; then the event is handed to its handler. Vitally errors propagate: deciding
between retry, park and fail is the stream layer's job.
"""

from __future__ import annotations

from processors.conversations import (
    conversation_created,
    conversation_deleted,
    conversation_updated,
)
from processors.messages import message_created
from processors.protocols import Collaborators, Step
from processors.results import SyncResult, duplicate, skipped
from processors.tenant import TenantContext
from schemas.events import ConversationEvent, InboundEvent, MessageEvent
from schemas.state import ConversationState


async def process_event(
    event: InboundEvent,
    offset: int,
    *,
    state: ConversationState | None,
    tenant: TenantContext | None,
    calls: Collaborators,
    verify: bool = False,
    unsure_since: float | None = None,
) -> SyncResult:
    """Decide and apply one event. ``verify`` asks Vitally before any create (see module doc);
    ``unsure_since``: when an earlier write of it got no clear answer (epoch seconds)."""
    if not isinstance(event, ConversationEvent | MessageEvent):
        return skipped("unsupported_event")
    if tenant is None:
        return skipped("integration_not_connected")
    if state is not None and state.tenant_id != tenant.tenant_id:
        # Conversation ids are only unique within a workspace: never mix two tenants' state.
        state = None
    if state is not None and state.applied(offset):
        return duplicate("already_synced", state)
    step = Step(offset, state, tenant, calls, verify, unsure_since)
    if isinstance(event, MessageEvent):
        return await message_created(event, step)
    if event.event == "conversation_created":
        return await conversation_created(event, step)
    if event.event == "conversation_updated":
        return await conversation_updated(event, step)
    return await conversation_deleted(step)
