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
from processors.results import SyncResult, duplicate, noted, skipped
from processors.revisions import message_revised
from processors.tenant import TenantContext
from schemas.events import (
    ConversationEvent,
    InboundEvent,
    MessageEvent,
    RevisionEvent,
    ignored_fields,
)
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
    if not isinstance(event, ConversationEvent | MessageEvent | RevisionEvent):
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
        result = await message_created(event, step)
    elif isinstance(event, RevisionEvent):
        result = await message_revised(event, step)
    elif event.event == "conversation_created":
        result = await conversation_created(event, step)
    elif event.event == "conversation_updated":
        result = await conversation_updated(event, step)
    else:
        result = await conversation_deleted(step)
    return _with_ignored(result, ignored_fields(event))


def _with_ignored(result: SyncResult, ignored: tuple[str, ...]) -> SyncResult:
    """Odd informative values left out of the event are named in the audit detail, unless the
    detail is someone's email (a person the event waits for: the stream layer reads it)."""
    if not ignored or result.reason in ("customer_not_in_vitally", "teammate_not_in_vitally"):
        return result
    return noted(result, "ignored odd " + ",".join(ignored))
