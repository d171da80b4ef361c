"""conversation_created / _updated / _deleted: the Vitally conversation and what we remember.

A new Unthread conversation becomes one Vitally conversation whose ``externalId`` is the
Unthread conversation id, whose subject is the title (else the start of the initial message)
and whose first message is the initial message, from the customer's Vitally user to the
conversation's admin (or, for a conversation a teammate opened, the other way round).

Vitally documents no upsert for conversations, so we never create twice: the table says
what exists, and where a previous attempt may have reached Vitally unrecorded (``verify``:
a crash or an ambiguous failure) we look the conversation up by ``externalId`` first
(:mod:`processors.conversation_index`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processors.body import mention_names, message_body
from processors.direction import classify, normalise_email
from processors.messages import message_time
from processors.mrkdwn import subject_from, to_html
from processors.people import conversation_admin
from processors.protocols import Clock, Directory, VitallyApi
from processors.results import SyncResult, duplicate, skipped
from processors.tenant import TenantContext
from schemas.audit import Reason
from schemas.events import Conversation, ConversationEvent
from schemas.state import ConversationState
from schemas.vitally import ConversationCreate, MessageCreate, Participant

# How far Vitally's clock may be behind the times in Unthread's events.
CLOCK_SKEW = timedelta(minutes=15)


async def conversation_created(
    event: ConversationEvent,
    offset: int,
    *,
    state: ConversationState | None,
    tenant: TenantContext,
    vitally: VitallyApi,
    directory: Directory,
    clock: Clock,
    verify: bool,
    unsure_since: float | None = None,
) -> SyncResult:
    conv = event.data
    if state is not None and state.synced:
        return duplicate("already_synced", state.at_offset(offset))
    base = ConversationState(
        tenant_id=tenant.tenant_id,
        conversation_id=conv.id,
        status="skipped",
        customer_email=normalise_email(conv.submitter_user.email if conv.submitter_user else None),
        assignee_email=_assignee_email(conv),
        last_offset=offset,
    )
    created_at = _created_at(conv, event.event_timestamp)
    if created_at is not None and created_at < tenant.connected_at:
        return _skip("created_before_connect", base)
    initial = conv.initial_message
    if initial is None:
        return _skip("no_initial_message", base)
    sender = classify(initial, submitter_email=base.customer_email)
    if isinstance(sender, str):
        return _skip(sender, base)
    customer_email = base.customer_email or (sender.email if sender.side == "customer" else None)
    if sender.email is None or customer_email is None:
        return _skip("no_sender_email", base)
    base = base.model_copy(update={"customer_email": customer_email})
    body = message_body(initial) or message_body_from_title(conv)
    if body is None:
        return _skip("empty_message", base)

    user = await directory.user(tenant.target, customer_email)
    if user is None:
        return _skip("customer_not_in_vitally", base, detail=customer_email)
    admin = await conversation_admin(directory, tenant, base.assignee_email)
    if admin is None:
        return _skip("teammate_not_in_vitally", base, detail=tenant.default_admin_email)
    customer = Participant(type="user", id=user.id)
    if sender.side == "customer":
        author, recipient = customer, Participant(type="admin", id=admin.id)
    else:
        teammate = await directory.admin(tenant.target, sender.email)
        if teammate is None:
            return _skip("teammate_not_in_vitally", base, detail=sender.email)
        author, recipient = Participant(type="admin", id=teammate.id), customer
    synced = base.model_copy(
        update={
            "status": "synced",
            "customer_user_id": user.id,
            "admin_id": admin.id,
            "message_ids": (initial.id,),
        }
    )

    if verify:
        existing = await directory.conversation(
            tenant.target,
            conv.id,
            # No create of ours precedes the conversation itself; the margin is for clocks.
            created_after=created_at - CLOCK_SKEW if created_at is not None else None,
            written_at=unsure_since,
        )
        if existing is not None:
            return duplicate(
                "already_in_vitally",
                synced.model_copy(update={"vitally_conversation_id": existing}),
            )
    request = ConversationCreate(
        external_id=conv.id,
        subject=_subject(conv),
        messages=[
            MessageCreate(
                external_id=initial.id,
                message=body,
                from_=author,
                to=[recipient],
                timestamp=message_time(initial, event.event_timestamp, clock),
            )
        ],
        traits=_traits(conv),
    )
    created = await vitally.create_conversation(tenant.target, request)
    first = next((m.id for m in created.messages if m.external_id == initial.id), None)
    return SyncResult(
        "synced",
        state=synced.model_copy(update={"vitally_conversation_id": created.id}),
        vitally_conversation_id=created.id,
        vitally_message_id=first,
    )


async def conversation_updated(
    event: ConversationEvent,
    offset: int,
    *,
    state: ConversationState | None,
    tenant: TenantContext,
    directory: Directory,
) -> SyncResult:
    """Vitally's conversation status is read-only, so an update only re-routes replies.

    A new assignee becomes the admin that later customer replies are addressed to.
    """
    if state is None or not state.synced:
        return skipped("conversation_not_synced", state.at_offset(offset) if state else None)
    assignee = _assignee_email(event.data)
    updated = state.at_offset(offset)
    if assignee != state.assignee_email:
        admin = await conversation_admin(directory, tenant, assignee)
        updated = updated.model_copy(
            update={"assignee_email": assignee, "admin_id": admin.id if admin else state.admin_id}
        )
    return skipped("update_not_synced", updated)


def conversation_deleted(offset: int, *, state: ConversationState | None) -> SyncResult:
    """The Vitally conversation stays as a record; later messages are not synced."""
    if state is None:
        return skipped("conversation_not_synced")
    return skipped(
        "deletion_not_synced", state.model_copy(update={"status": "deleted"}).at_offset(offset)
    )


def message_body_from_title(conv: Conversation) -> str | None:
    return to_html(conv.title) if conv.title and conv.title.strip() else None


def _skip(reason: Reason, state: ConversationState, detail: str | None = None) -> SyncResult:
    return skipped(reason, state.model_copy(update={"skip_reason": reason}), detail=detail)


def _assignee_email(conv: Conversation) -> str | None:
    return normalise_email(conv.assigned_to_user.email if conv.assigned_to_user else None)


def _created_at(conv: Conversation, event_timestamp: int | None) -> datetime | None:
    if conv.created_at is not None:
        return conv.created_at
    if conv.initial_message is not None and conv.initial_message.timestamp is not None:
        return conv.initial_message.timestamp
    if event_timestamp is not None:
        return datetime.fromtimestamp(event_timestamp / 1000, UTC)
    return None


def _subject(conv: Conversation) -> str:
    if conv.title and conv.title.strip():
        return subject_from(conv.title)
    if conv.initial_message is not None and conv.initial_message.text:
        subject = subject_from(conv.initial_message.text, names=mention_names(conv.initial_message))
        if subject:
            return subject
    return (
        f"Unthread conversation #{conv.friendly_id}"
        if conv.friendly_id
        else "Unthread conversation"
    )


def _traits(conv: Conversation) -> dict[str, object]:
    # Vitally's conversation status is read-only, so Unthread's fields travel as traits.
    traits: dict[str, object] = {
        "unthreadFriendlyId": conv.friendly_id,
        "unthreadStatus": conv.status,
        "unthreadPriority": conv.priority,
        "unthreadChannelId": conv.channel_id,
        "unthreadTags": [t.name for t in conv.tags or [] if t.name] or None,
    }
    return {k: v for k, v in traits.items() if v is not None}
