"""message_created: one Vitally message in the conversation we created for it.

Customer messages go from the sender's Vitally user to the conversation's admin; support
messages from the sender's Vitally admin to the customer's Vitally user. The message's
``externalId`` is the Unthread message id, fixed before the first attempt, so a message
Vitally already has is recognised instead of posted twice.

A conversation someone deleted in Vitally (a post answered 404) is remembered as such: its
later messages are skipped (``deleted_in_vitally``), or, when the tenant's
``onVitallyConversationMissing`` is ``"recreate"``, the next message creates it again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processors.body import message_body
from processors.direction import Sender, classify
from processors.people import Missing, Route, chosen_user, customer, from_customer, from_teammate
from processors.protocols import Clock, Directory, Step
from processors.results import SyncResult, duplicate, in_vitally, noted, skipped
from processors.tenant import TenantContext
from processors.unthread_link import shown_friendly_id
from schemas.audit import Reason
from schemas.events import Message, MessageEvent
from schemas.state import ConversationState
from schemas.vitally import ConversationCreate, MessageCreate
from vitally.errors import VitallyNotFound


async def message_created(event: MessageEvent, step: Step) -> SyncResult:
    """Plan from the event and the table (no call), find the people, then post."""
    offset, state, tenant, calls = step.offset, step.state, step.tenant, step.calls
    message = event.data
    plan = _plan_reply(event, step)
    if isinstance(plan, SyncResult):
        return plan
    state, conversation_id, sender, body = plan
    recreate = tenant.on_vitally_conversation_missing == "recreate"
    found_route = await _reply_route(sender, state, step)
    if isinstance(found_route, SyncResult):
        return found_route
    route, note = found_route
    applied = state.with_message(message.id, offset)
    request = MessageCreate(
        external_id=message.id,
        message=body,
        from_=route.author,
        to=[route.recipient],
        timestamp=message_time(message, event.event_timestamp, calls.clock),
    )
    if state.vitally_missing:
        return noted(await _recreate(applied, request, step), note)
    if step.verify:
        found = await calls.directory.message(
            tenant.target, conversation_id, message.id, written_at=step.unsure_since
        )
        if found is not None:
            return noted(duplicate("already_in_vitally", applied, found), note)
    try:
        posted = await calls.vitally.add_message(tenant.target, conversation_id, request)
    except VitallyNotFound:
        if not recreate:
            return missing_in_vitally(state.at_offset(offset))
        return noted(await _recreate(applied, request, step), note)
    return SyncResult(
        "synced",
        state=applied,
        vitally_conversation_id=conversation_id,
        vitally_message_id=posted.id,
        detail=note,
    )


def _plan_reply(
    event: MessageEvent, step: Step
) -> tuple[ConversationState, str, Sender, str] | SyncResult:
    """The conversation's state and Vitally id, the sender and the body to post; or why
    nothing is posted."""
    offset, tenant, message = step.offset, step.tenant, event.data
    target = in_vitally(step.state, offset)
    if isinstance(target, SyncResult):
        return target
    state, conversation_id = target
    if message.id in state.message_ids:
        return duplicate("already_synced", state.at_offset(offset))
    if state.removed(message.id):
        # Deleted in Unthread and removed here: a re-driven or late create must not revive it.
        return duplicate("already_deleted", state.at_offset(offset))
    if state.vitally_missing and tenant.on_vitally_conversation_missing != "recreate":
        return missing_in_vitally(state.at_offset(offset))
    sender = classify(message, submitter_email=state.customer_email)
    if isinstance(sender, str):
        return skipped(sender, state.at_offset(offset))
    if sender.email is None:
        reason: Reason = "not_an_email" if sender.unreadable else "no_sender_email"
        return skipped(reason, state.at_offset(offset))
    unthread_url = tenant.unthread_url(state.conversation_id, shown_friendly_id(state.traits))
    body = message_body(message, unthread_url)
    if body is None:
        return skipped("empty_message", state.at_offset(offset))
    return state, conversation_id, sender, body


async def _reply_route(
    sender: Sender, state: ConversationState, step: Step
) -> tuple[Route, str | None] | SyncResult:
    """Who the reply is from and to (a customer's: to the conversation's admin; a teammate's:
    to the customer), and the audit note on the user chosen; or who is missing in Vitally."""
    offset, tenant, directory = step.offset, step.tenant, step.calls.directory
    assert sender.email is not None  # noqa: S101 - the plan has the sender's email
    if sender.side == "customer":
        user = await customer(directory, tenant, sender.email)
        if isinstance(user, Missing):
            return _missing(user.reason, user.email, state, offset)
        admin_id = state.admin_id or await _default_admin_id(directory, tenant)
        if admin_id is None:
            return _missing("teammate_not_in_vitally", tenant.default_admin_email, state, offset)
        return from_customer(user.id, admin_id), chosen_user(user)
    found = await from_teammate(directory, tenant, sender.email, state.customer_user_id)
    if isinstance(found, Missing):
        return _missing(found.reason, found.email, state, offset)
    return found, None


def missing_in_vitally(state: ConversationState) -> SyncResult:
    """Someone deleted the conversation in Vitally (a write answered 404): known from now on,
    so the conversation's later events are skipped for that reason, not failed."""
    return skipped("deleted_in_vitally", state.model_copy(update={"vitally_missing": True}))


async def _recreate(applied: ConversationState, first: MessageCreate, step: Step) -> SyncResult:
    """The tenant asked for conversations deleted in Vitally to be created again: a new one,
    with the subject and traits last shown and this message as its first."""
    tenant, calls = step.tenant, step.calls
    external_id = applied.conversation_id
    existing = None
    if step.verify:
        # An earlier attempt's create may have landed: the deleted one is no longer listed.
        existing = await calls.directory.conversation(
            tenant.target, external_id, None, written_at=step.unsure_since
        )
    if existing is not None and existing != applied.vitally_conversation_id:
        adopted = applied.model_copy(
            update={"vitally_conversation_id": existing, "vitally_missing": False}
        )
        return duplicate("already_in_vitally", adopted)
    request = ConversationCreate(
        external_id=external_id,
        subject=applied.subject or "Unthread conversation",
        messages=[first],
        traits=applied.traits or {},
    )
    created = await calls.vitally.create_conversation(tenant.target, request)
    posted = next((m.id for m in created.messages if m.external_id == first.external_id), None)
    return SyncResult(
        "synced",
        state=applied.model_copy(
            update={"vitally_conversation_id": created.id, "vitally_missing": False}
        ),
        vitally_conversation_id=created.id,
        vitally_message_id=posted,
        detail="recreated_in_vitally",
    )


# A message time this far before its event's own time, or later than it by more than the
# clocks' skew, is not the message's: the event's time is used instead (a time in seconds
# read as milliseconds lands in 1970, a wrong year far away).
MESSAGE_TIME_BEFORE_EVENT = timedelta(days=30)
MESSAGE_TIME_AFTER_EVENT = timedelta(minutes=15)


def message_time(message: Message, event_timestamp: int | None, clock: Clock) -> datetime:
    """When the message was sent: its ``timestamp``, else its Slack ``ts``, else the event's
    time, else now; a message time outside the event's bounds gives way to the event's."""
    event_time = (
        datetime.fromtimestamp(event_timestamp / 1000, UTC) if event_timestamp is not None else None
    )
    for candidate in (message.timestamp, _ts_time(message.ts)):
        if candidate is not None and (event_time is None or _near(candidate, event_time)):
            return candidate
    return event_time or clock.now()


def _near(moment: datetime, event_time: datetime) -> bool:
    return event_time - MESSAGE_TIME_BEFORE_EVENT <= moment <= event_time + MESSAGE_TIME_AFTER_EVENT


def _ts_time(ts: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), UTC) if ts else None
    except (ValueError, OverflowError, OSError):
        return None


def _missing(reason: Reason, email: str, state: ConversationState, offset: int) -> SyncResult:
    """A person the message needs is not in Vitally. The stream layer parks the message alone
    (``detail`` names who is missing); given up on, a replay still handles it again."""
    return skipped(reason, state.passed_over(offset), detail=email)


async def _default_admin_id(directory: Directory, tenant: TenantContext) -> str | None:
    admin = await directory.admin(tenant.target, tenant.default_admin_email)
    return admin.id if admin else None
