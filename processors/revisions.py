"""message_updated and message_deleted: a message edited or deleted in Unthread, in Vitally.

Unthread sends no event for either. Reconciliation and imports find them in Unthread's message
list (:mod:`processors.source_walk`) and produce these events keyed by the conversation, so
they apply in order with its other events. Each is behind a tenant setting
(``syncMessageEdits``, ``syncMessageDeletions``), off by default: Vitally's own public
reference does not state how it treats these calls (docs/interfaces.md).

The Vitally message is found by its externalId (the Unthread message id) in the conversation
as Vitally shows it. An edit sends that message again with the new body and its own time,
sender and recipients (Vitally updates a conversation's messages by externalId); a deletion
removes it by its Vitally id. What was applied is kept in the conversation's state
(``revised``), so a pass that reads the conversation again is a duplicate without a call;
after a crash between the write and the state, the edit is found in Vitally by its text and
the deletion by the message's absence.
"""

from __future__ import annotations

from processors.body import message_body
from processors.direction import not_synced
from processors.messages import missing_in_vitally
from processors.protocols import Step
from processors.results import SyncResult, duplicate, in_vitally, skipped
from processors.unthread_link import shown_friendly_id
from schemas.audit import Reason
from schemas.events import RevisionEvent
from schemas.state import RECENT_MESSAGE_IDS, REMOVED, ConversationState
from schemas.vitally import ConversationUpdate, MessageCreate, VitallyMessage
from vitally.errors import VitallyNotFound


async def message_revised(event: RevisionEvent, step: Step) -> SyncResult:
    """``message_updated`` or ``message_deleted``, when the tenant's setting asks for it."""
    plan = _plan(event, step)
    if isinstance(plan, SyncResult):
        return plan
    state, conversation_id = plan
    if event.event == "message_updated":
        return await _edit(event, step, state, conversation_id)
    return await _delete(event, step, state, conversation_id)


async def _edit(
    event: RevisionEvent, step: Step, state: ConversationState, conversation_id: str
) -> SyncResult:
    """Send the edited body in place of the message Vitally shows, unless it shows it."""
    offset, tenant, message = step.offset, step.tenant, event.data
    version = edit_version(event)
    applied = state.revised.get(message.id)
    if applied == version:
        return duplicate("already_synced", state.at_offset(offset))
    if applied is not None and (applied == REMOVED or applied > version):
        return skipped("stale_update", state.at_offset(offset))
    never = not_synced(message)
    if never is not None:
        # A private note or an automated post was never synced as itself: its text stays out.
        return skipped(never, state.at_offset(offset))
    url = tenant.unthread_url(state.conversation_id, shown_friendly_id(state.traits))
    body = message_body(message, url)
    if body is None:
        return skipped("empty_message", state.at_offset(offset))
    found = await _shown(state, conversation_id, message.id, step)
    if isinstance(found, SyncResult):
        return found
    if found is None or found.from_ is None:
        return skipped("message_not_synced", state.at_offset(offset))
    done = state.with_revision(message.id, version, offset)
    if found.message == body:
        return duplicate("already_in_vitally", done, found.id)
    edited = MessageCreate(
        external_id=message.id, message=body, from_=found.from_.as_request(),
        to=[p.as_request() for p in found.to], timestamp=found.timestamp,
    )  # fmt: skip
    update = ConversationUpdate(messages=[edited])
    try:
        await step.calls.vitally.update_conversation(tenant.target, conversation_id, update)
    except VitallyNotFound:
        return missing_in_vitally(state.at_offset(offset))
    return SyncResult("synced", state=done, vitally_conversation_id=conversation_id,
                      vitally_message_id=found.id)  # fmt: skip


async def _delete(
    event: RevisionEvent, step: Step, state: ConversationState, conversation_id: str
) -> SyncResult:
    """Remove the message from the Vitally conversation, if Vitally shows it."""
    offset, tenant, message = step.offset, step.tenant, event.data
    if state.removed(message.id):
        return duplicate("already_deleted", state.at_offset(offset))
    found = await _shown(state, conversation_id, message.id, step)
    if isinstance(found, SyncResult):
        return found
    removed = state.with_revision(message.id, REMOVED, offset)
    if found is None:
        # Never synced, or gone from Vitally already: remembered, so not looked for again.
        return skipped("message_not_synced", removed)
    if not await step.calls.vitally.delete_message(tenant.target, found.id):
        return duplicate("already_deleted", removed, found.id)
    return SyncResult("synced", state=removed, vitally_conversation_id=conversation_id,
                      vitally_message_id=found.id)  # fmt: skip


def edit_version(event: RevisionEvent) -> int:
    """The edit's time (ms): the message's ``updatedAt``, else the event's time."""
    edited = event.data.updated_at
    if edited is not None:
        return int(edited.timestamp() * 1000)
    return event.event_timestamp or 0


def _plan(event: RevisionEvent, step: Step) -> tuple[ConversationState, str] | SyncResult:
    """The conversation's state and Vitally id; or why nothing is sent (the tenant's setting
    off: not applied, so a replay after it is turned on handles the event again)."""
    offset, state, tenant = step.offset, step.state, step.tenant
    edit = event.event == "message_updated"
    enabled = tenant.sync_message_edits if edit else tenant.sync_message_deletions
    disabled: Reason = "edits_disabled" if edit else "deletions_disabled"
    if not enabled:
        return skipped(disabled, state.passed_over(offset) if state is not None else None)
    target = in_vitally(state, offset)
    if isinstance(target, SyncResult):
        return target
    state, conversation_id = target
    if state.vitally_missing:
        return missing_in_vitally(state.at_offset(offset))
    return state, conversation_id


async def _shown(
    state: ConversationState, conversation_id: str, message_id: str, step: Step
) -> VitallyMessage | SyncResult | None:
    """The message as Vitally shows it, None when it does not; asked only when the state
    does not already say it was never synced (its recent message ids are all kept)."""
    recent = len(state.message_ids) < RECENT_MESSAGE_IDS
    if recent and message_id not in state.message_ids:
        return None
    shown = await step.calls.vitally.get_conversation(step.tenant.target, conversation_id)
    if shown is None:
        return missing_in_vitally(state.at_offset(step.offset))
    return next((m for m in shown.messages if m.external_id == message_id), None)
