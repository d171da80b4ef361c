"""message_created: one Vitally message in the conversation we created for it.

Customer messages go from the sender's Vitally user to the conversation's admin; support
messages from the sender's Vitally admin to the customer's Vitally user. The message's
``externalId`` is the Unthread message id, fixed before the first attempt, so a message
Vitally already has is recognised instead of posted twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from processors.body import message_body
from processors.direction import classify
from processors.protocols import Clock, Directory, Step
from processors.results import SyncResult, duplicate, skipped
from processors.tenant import TenantContext
from processors.unthread_link import shown_friendly_id
from schemas.audit import Reason
from schemas.events import Message, MessageEvent
from schemas.state import ConversationState
from schemas.vitally import MessageCreate, Participant


async def message_created(event: MessageEvent, step: Step) -> SyncResult:
    offset, state, tenant, calls = step.offset, step.state, step.tenant, step.calls
    message = event.data
    if state is None:
        return skipped("conversation_not_synced")
    if state.status == "deleted":
        return skipped("conversation_deleted", state.at_offset(offset))
    if not state.synced or state.vitally_conversation_id is None:
        return skipped("conversation_not_synced", state.at_offset(offset))
    if message.id in state.message_ids:
        return duplicate("already_synced", state.at_offset(offset))
    sender = classify(message, submitter_email=state.customer_email)
    if isinstance(sender, str):
        return skipped(sender, state.at_offset(offset))
    if sender.email is None:
        return skipped("no_sender_email", state.at_offset(offset))
    unthread_url = tenant.unthread_url(state.conversation_id, shown_friendly_id(state.traits))
    body = message_body(message, unthread_url)
    if body is None:
        return skipped("empty_message", state.at_offset(offset))

    if sender.side == "customer":
        user = await calls.directory.user(tenant.target, sender.email)
        if user is None:
            return _missing("customer_not_in_vitally", sender.email, state, offset)
        admin_id = state.admin_id or await _default_admin_id(calls.directory, tenant)
        if admin_id is None:
            return _missing("teammate_not_in_vitally", tenant.default_admin_email, state, offset)
        author, recipient = (
            Participant(type="user", id=user.id),
            Participant(type="admin", id=admin_id),
        )
    else:
        admin = await calls.directory.admin(tenant.target, sender.email)
        if admin is None or state.customer_user_id is None:
            return _missing("teammate_not_in_vitally", sender.email, state, offset)
        author = Participant(type="admin", id=admin.id)
        recipient = Participant(type="user", id=state.customer_user_id)

    conversation_id = state.vitally_conversation_id
    applied = state.with_message(message.id, offset)
    if step.verify:
        found = await calls.directory.message(
            tenant.target, conversation_id, message.id, written_at=step.unsure_since
        )
        if found is not None:
            return duplicate("already_in_vitally", applied, vitally_message_id=found)
    request = MessageCreate(
        external_id=message.id,
        message=body,
        from_=author,
        to=[recipient],
        timestamp=message_time(message, event.event_timestamp, calls.clock),
    )
    posted = await calls.vitally.add_message(tenant.target, conversation_id, request)
    return SyncResult(
        "synced",
        state=applied,
        vitally_conversation_id=conversation_id,
        vitally_message_id=posted.id,
    )


def message_time(message: Message, event_timestamp: int | None, clock: Clock) -> datetime:
    if message.timestamp is not None:
        return message.timestamp
    if message.ts:
        try:
            return datetime.fromtimestamp(float(message.ts), UTC)
        except ValueError:
            pass
    if event_timestamp is not None:
        return datetime.fromtimestamp(event_timestamp / 1000, UTC)
    return clock.now()


def _missing(reason: Reason, email: str, state: ConversationState, offset: int) -> SyncResult:
    """A person the message needs is not in Vitally. The stream layer parks the message alone
    (``detail`` names who is missing); given up on, a replay still handles it again."""
    return skipped(reason, state.passed_over(offset), detail=email)


async def _default_admin_id(directory: Directory, tenant: TenantContext) -> str | None:
    admin = await directory.admin(tenant.target, tenant.default_admin_email)
    return admin.id if admin else None
