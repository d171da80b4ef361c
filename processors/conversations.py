"""conversation_created / _updated / _deleted: the Vitally conversation and what we remember.

A new Unthread conversation becomes one Vitally conversation whose ``externalId`` is the
Unthread conversation id, whose subject is the title (else the start of the initial message)
and whose first message is the initial message, from the customer's Vitally user to the
conversation's admin (or, for a conversation a teammate opened, the other way round). A first
message that is not synced as a message (a bot's post, an autoresponse, a private note) still
makes the conversation: from the submitter, with what may be shown (the bot's text; for a
note, the title), so that follow-ups have a place to land. A create re-sent after the
deletion is skipped: neither a second conversation nor the deleted one back.

Vitally documents no upsert for conversations, so we never create twice: the table says
what exists, and where a previous attempt may have reached Vitally unrecorded (``verify``:
a crash or an ambiguous failure) we look the conversation up by ``externalId`` first
(:mod:`processors.conversation_index`).

Unthread's status, priority, tags, assignee, friendly id, channel and closed/status times
travel as traits (Vitally's own status is read-only), the same set at creation and on every
update. An update sends only what changed since what the table says Vitally shows, and
nothing for an update older than the data already applied (Unthread documents no order
between its events; times are compared by kind, :func:`_stale`). An update of a conversation
someone deleted in Vitally is remembered, not sent (``deleted_in_vitally``). A deletion keeps
the Vitally conversation unless the tenant asked for ``onConversationDeleted: "delete"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from processors.body import mention_names, message_body
from processors.direction import Sender, classify, normalise_email
from processors.filling import ids_only
from processors.messages import message_time, missing_in_vitally
from processors.mrkdwn import subject_from, to_html
from processors.people import (
    Missing,
    Route,
    chosen_user,
    conversation_admin,
    customer,
    from_customer,
    from_teammate,
)
from processors.protocols import Step
from processors.results import SyncResult, duplicate, in_vitally, noted, skipped
from processors.tenant import TenantContext
from processors.unthread_link import shown_friendly_id
from schemas.audit import Reason
from schemas.events import Conversation, ConversationEvent, Message
from schemas.state import ConversationState
from schemas.vitally import (
    ConversationCreate,
    ConversationUpdate,
    MessageCreate,
    TraitValue,
    VitallyUser,
)
from vitally.errors import VitallyNotFound

# How far Vitally's clock may be behind the times in Unthread's events.
CLOCK_SKEW = timedelta(minutes=15)


@dataclass(frozen=True)
class _Plan:
    """What a create will send, decided from the event and the table alone (no call)."""

    initial: Message
    sender: Sender
    customer_email: str
    body: str
    unthread_url: str | None
    created_at: datetime | None
    # A first message not synced as itself: how it is shown (for the audit detail).
    shown_as: str | None
    base: ConversationState  # what the table keeps if the create stops short


async def conversation_created(event: ConversationEvent, step: Step) -> SyncResult:
    """Plan from the event (no call), find the people in Vitally, then create."""
    plan = _plan_create(event, step)
    if isinstance(plan, SyncResult):
        return plan
    route = await _first_route(plan, step)
    if isinstance(route, SyncResult):
        return route
    user, admin_id, direction = route
    return await _create(event, step, plan, user, admin_id, direction)


def _plan_create(event: ConversationEvent, step: Step) -> _Plan | SyncResult:
    """The create's content, or why there is none (already done, outside the window, no
    first message, nobody to send it as)."""
    offset, state, tenant, conv = step.offset, step.state, step.tenant, event.data
    if state is not None and state.synced:
        return duplicate("already_synced", state.at_offset(offset))
    if state is not None and state.status == "deleted":
        # A create re-sent after the deletion: neither a second conversation nor the deleted
        # one back.
        return skipped("conversation_deleted", state.at_offset(offset))
    submitter = _submitter(conv)
    base = ConversationState(
        tenant_id=tenant.tenant_id, conversation_id=conv.id, status="skipped",
        customer_email=submitter.email, assignee_email=_assignee_email(conv), last_offset=offset,
    )  # fmt: skip
    created_at = _created_at(conv, event.event_timestamp)
    if created_at is not None and not _in_sync_window(created_at, tenant):
        return _skip("created_before_connect", base)
    initial = conv.initial_message
    if initial is None:
        return _skip("no_initial_message", base)
    sender = classify(initial, submitter_email=base.customer_email)
    shown_as: str | None = None
    if isinstance(sender, str):
        # A bot's, an autoresponder's or a private first message: the conversation is still
        # the submitter's, and follow-ups need it. Shown from them, with what may be shown.
        sender, shown_as = submitter, f"first message {sender}: from the submitter"
    customer_email = base.customer_email or (sender.email if sender.side == "customer" else None)
    if sender.email is None or customer_email is None:
        unreadable = sender.unreadable or (customer_email is None and submitter.unreadable)
        return _skip("not_an_email" if unreadable else "no_sender_email", base)
    base = base.model_copy(update={"customer_email": customer_email})
    unthread_url = tenant.unthread_url(conv.id, conv.friendly_id)
    body = _first_body(conv, unthread_url, private=initial.is_private_note is True)
    if body is None:
        return _skip("empty_message", base)
    return _Plan(initial, sender, customer_email, body, unthread_url, created_at, shown_as, base)


async def _first_route(plan: _Plan, step: Step) -> tuple[VitallyUser, str, Route] | SyncResult:
    """The customer's user, the conversation's admin, and who the first message is from and
    to; or who is missing in Vitally."""
    tenant, directory = step.tenant, step.calls.directory
    user = await customer(directory, tenant, plan.customer_email)
    if isinstance(user, Missing):
        return _skip(user.reason, plan.base, detail=user.email)
    admin = await conversation_admin(directory, tenant, plan.base.assignee_email)
    if admin is None:
        return _skip("teammate_not_in_vitally", plan.base, detail=tenant.default_admin_email)
    if plan.sender.side == "customer":
        return user, admin.id, from_customer(user.id, admin.id)
    assert plan.sender.email is not None  # noqa: S101 - the plan has the sender's email
    route = await from_teammate(directory, tenant, plan.sender.email, user.id)
    if isinstance(route, Missing):
        return _skip(route.reason, plan.base, detail=route.email)
    return user, admin.id, route


async def _create(
    event: ConversationEvent, step: Step, plan: _Plan, user: VitallyUser, admin_id: str,
    route: Route,
) -> SyncResult:  # fmt: skip
    """The conversation in Vitally, with its first message; one a previous attempt may have
    made (``verify``) is looked up first and adopted."""
    conv, tenant, calls = event.data, step.tenant, step.calls
    subject = _subject(conv)
    traits = {name: value for name, value in _traits(conv).items() if value is not None}
    if plan.unthread_url is not None:
        traits["unthreadUrl"] = plan.unthread_url
    data_ms, event_ms = versions_of(event)
    synced = plan.base.model_copy(
        update={
            "status": "synced", "customer_user_id": user.id, "admin_id": admin_id,
            "message_ids": (plan.initial.id,), "subject": subject, "traits": traits,
            "version_ms": data_ms, "event_ms": event_ms,
        }
    )  # fmt: skip
    notes = "; ".join(n for n in (plan.shown_as, chosen_user(user)) if n) or None
    if step.verify:
        existing = await calls.directory.conversation(
            tenant.target, conv.id,
            # No create of ours precedes the conversation itself; the margin is for clocks.
            created_after=plan.created_at - CLOCK_SKEW if plan.created_at is not None else None,
            written_at=step.unsure_since,
        )  # fmt: skip
        if existing is not None:
            adopted = synced.model_copy(update={"vitally_conversation_id": existing})
            return noted(duplicate("already_in_vitally", adopted), notes)
    first = MessageCreate(
        external_id=plan.initial.id, message=plan.body, from_=route.author, to=[route.recipient],
        timestamp=message_time(plan.initial, event.event_timestamp, calls.clock),
    )  # fmt: skip
    request = ConversationCreate(
        external_id=conv.id, subject=subject, messages=[first], traits=traits
    )
    created = await calls.vitally.create_conversation(tenant.target, request)
    first_id = next((m.id for m in created.messages if m.external_id == plan.initial.id), None)
    return SyncResult(
        "synced",
        state=synced.model_copy(update={"vitally_conversation_id": created.id}),
        vitally_conversation_id=created.id,
        vitally_message_id=first_id,
        detail=notes,
    )


async def conversation_updated(event: ConversationEvent, step: Step) -> SyncResult:
    """Send what changed (traits, and the subject when the title changed) with one PUT.

    A field the event leaves out is unknown, not cleared. A new assignee also becomes the
    admin that later customer replies are addressed to. ``detail`` names the fields sent,
    never their values.
    """
    plan = _plan_update(event, step)
    if isinstance(plan, SyncResult):
        return plan
    state, vitally_id, updated = plan
    updated = await _reassigned(event.data, state, updated, step)
    traits, subject = _update_of(event.data, state, step.tenant)
    if not traits and subject is None:
        return skipped("no_change", updated)
    shown = {**(state.traits or {}), **traits}
    updated = updated.model_copy(
        update={
            "subject": subject or state.subject,
            "traits": {name: value for name, value in shown.items() if value is not None},
        }
    )
    if state.vitally_missing:
        # Kept for the conversation's re-creation; nothing to send it to now.
        return missing_in_vitally(updated)
    change = ConversationUpdate(subject=subject, traits=traits or None)
    try:
        await step.calls.vitally.update_conversation(step.tenant.target, vitally_id, change)
    except VitallyNotFound:
        return missing_in_vitally(updated)
    return SyncResult(
        "synced",
        state=updated,
        vitally_conversation_id=vitally_id,
        detail=_changed_fields(traits, subject is not None),
    )


def _plan_update(
    event: ConversationEvent, step: Step
) -> tuple[ConversationState, str, ConversationState] | SyncResult:
    """The state, its Vitally id and the state with the event's times applied; or why the
    update is not sent (no conversation, deleted, stale)."""
    offset = step.offset
    target = in_vitally(step.state, offset)
    if isinstance(target, SyncResult):
        return target
    state, vitally_id = target
    data_ms, event_ms = versions_of(event)
    if _stale(data_ms, event_ms, state):
        return skipped("stale_update", state.at_offset(offset))
    updated = state.at_offset(offset).model_copy(
        update={
            "version_ms": _latest(data_ms, state.version_ms),
            "event_ms": _latest(event_ms, state.event_ms),
        }
    )
    return state, vitally_id, updated


async def _reassigned(
    conv: Conversation, state: ConversationState, updated: ConversationState, step: Step
) -> ConversationState:
    """A new assignee, and the admin later customer replies go to."""
    assignee = _assignee(conv)
    if assignee is None or assignee[1] == state.assignee_email:
        return updated
    admin = await conversation_admin(step.calls.directory, step.tenant, assignee[1])
    return updated.model_copy(
        update={"assignee_email": assignee[1], "admin_id": admin.id if admin else state.admin_id}
    )


def _update_of(
    conv: Conversation, state: ConversationState, tenant: TenantContext
) -> tuple[dict[str, TraitValue], str | None]:
    """The traits that changed, and the new subject when the title changed."""
    traits = _changed(state.traits, _traits(conv))
    # A conversation synced before its link was sent (or under another template) gets it now.
    link = tenant.unthread_url(conv.id, conv.friendly_id or shown_friendly_id(state.traits))
    if link is not None and (state.traits or {}).get("unthreadUrl") != link:
        traits["unthreadUrl"] = link
    title = subject_from(conv.title) if conv.title and conv.title.strip() else None
    return traits, title if title and title != state.subject else None


async def conversation_deleted(step: Step) -> SyncResult:
    """Later messages are not synced. The Vitally conversation stays as a record, unless
    the tenant's ``on_conversation_deleted`` is "delete": then it is deleted in Vitally
    (idempotently: one Vitally no longer has is already deleted)."""
    offset, state, tenant, calls = step.offset, step.state, step.tenant, step.calls
    if state is None:
        return skipped("conversation_not_synced")
    gone = state.model_copy(update={"status": "deleted"}).at_offset(offset)
    if state.vitally_deleted:
        return duplicate("already_synced", gone)
    vitally_id = state.vitally_conversation_id
    if vitally_id is None or state.status not in ("synced", "deleted"):
        return skipped("conversation_not_synced", gone)
    if tenant.on_conversation_deleted == "keep":
        return skipped("deletion_not_synced", gone)
    deleted = gone.model_copy(update={"vitally_deleted": True})
    if not await calls.vitally.delete_conversation(tenant.target, vitally_id):
        return duplicate("already_deleted", deleted)
    return SyncResult("synced", state=deleted, vitally_conversation_id=vitally_id)


def versions_of(event: ConversationEvent) -> tuple[int | None, int | None]:
    """When Unthread changed the conversation data the event carries, by the data's own
    times (the later of ``updatedAt`` and ``statusUpdatedAt``), and by the event's time (ms
    since the epoch). A time looked up in Unthread is not the event's: enrichment never fills
    these in."""
    conv = event.data
    times = [t for t in (conv.updated_at, conv.status_updated_at) if t is not None]
    data_ms = int(max(times).timestamp() * 1000) if times else None
    return data_ms, event.event_timestamp


def _stale(data_ms: int | None, event_ms: int | None, state: ConversationState) -> bool:
    """Older than what was applied, comparing times of one kind: the data's own times when
    both sides have them, else the events' times; a time of one kind never judges the other
    (a create handled late, its data looked up, must not make later changes stale)."""
    if data_ms is not None and state.version_ms is not None:
        return data_ms < state.version_ms
    if event_ms is not None and state.event_ms is not None:
        return event_ms < state.event_ms
    return False


def _latest(time: int | None, known: int | None) -> int | None:
    return max(time or 0, known or 0) or None


def message_body_from_title(conv: Conversation) -> str | None:
    return to_html(conv.title) if conv.title and conv.title.strip() else None


def _first_body(conv: Conversation, unthread_url: str | None, *, private: bool) -> str | None:
    """The first message's body: its own (a bot's visible text included), else the title;
    a private note's text is never shown, only the title or, without one, the subject."""
    initial = conv.initial_message
    if private or initial is None:
        return message_body_from_title(conv) or to_html(_subject(conv))
    return message_body(initial, unthread_url) or message_body_from_title(conv)


def _submitter(conv: Conversation) -> Sender:
    """The submitter as the customer who sent the conversation's first message."""
    raw = conv.submitter_user.email if conv.submitter_user else None
    email = normalise_email(raw)
    return Sender("customer", email, unreadable=email is None and bool(raw and raw.strip()))


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
    initial = conv.initial_message
    if initial is not None and initial.text and not initial.is_private_note:
        subject = subject_from(initial.text, names=mention_names(initial))
        if subject:
            return subject
    return (
        f"Unthread conversation #{conv.friendly_id}"
        if conv.friendly_id
        else "Unthread conversation"
    )


# Each trait, and the field name an audit record's detail uses for it.
TRAIT_FIELDS: dict[str, str] = {
    "unthreadFriendlyId": "friendlyId",
    "unthreadStatus": "status",
    "unthreadPriority": "priority",
    "unthreadChannelId": "channelId",
    "unthreadTags": "tags",
    "unthreadAssigneeName": "assignee",
    "unthreadAssigneeEmail": "assignee",
    "unthreadClosedAt": "closedAt",
    "unthreadStatusUpdatedAt": "statusUpdatedAt",
    "unthreadUrl": "unthreadUrl",
}


def _traits(conv: Conversation) -> dict[str, TraitValue]:
    """Unthread's fields as Vitally traits (Vitally's conversation status is read-only).

    Only the fields the event carries: one it leaves out, or names by id alone (tags without
    names), is unknown and absent here; one it sends empty is None (at creation not sent, on
    an update a null that clears the trait).
    """
    present = conv.model_fields_set
    traits: dict[str, TraitValue] = {}
    if "friendly_id" in present:
        traits["unthreadFriendlyId"] = conv.friendly_id
    if "status" in present:
        traits["unthreadStatus"] = conv.status
    if "priority" in present:
        traits["unthreadPriority"] = conv.priority
    if "channel_id" in present:
        traits["unthreadChannelId"] = conv.channel_id
    if "tags" in present and not ids_only(conv.tags):
        traits["unthreadTags"] = [t.name for t in conv.tags or [] if t.name] or None
    assignee = _assignee(conv)
    if assignee is not None:
        traits["unthreadAssigneeName"], traits["unthreadAssigneeEmail"] = assignee
    if "closed_at" in present:
        traits["unthreadClosedAt"] = _iso(conv.closed_at)
    if "status_updated_at" in present:
        traits["unthreadStatusUpdatedAt"] = _iso(conv.status_updated_at)
    return traits


def _assignee(conv: Conversation) -> tuple[str | None, str | None] | None:
    """The assignee's (name, email); (None, None) when unassigned; None when the event does
    not say (no assignee fields, or an assignee named by id alone)."""
    user = conv.assigned_to_user
    if user is not None:
        if user.name is None and user.email is None:
            return None
        return user.name, normalise_email(user.email)
    if conv.assigned_to_user_id is None and conv.model_fields_set & {
        "assigned_to_user", "assigned_to_user_id"
    }:  # fmt: skip
        return None, None
    return None


def _changed(
    shown: Mapping[str, TraitValue] | None, traits: Mapping[str, TraitValue]
) -> dict[str, TraitValue]:
    """The traits that differ from what Vitally shows; all known ones when that is unknown."""
    if shown is None:
        return dict(traits)
    return {name: value for name, value in traits.items() if shown.get(name) != value}


def _changed_fields(traits: Mapping[str, TraitValue], subject: bool) -> str:
    """The names of the changed fields, in a fixed order, for the audit record's detail."""
    names = {TRAIT_FIELDS[name] for name in traits}
    if subject:
        names.add("subject")
    order = [*dict.fromkeys(TRAIT_FIELDS.values()), "subject"]
    return ",".join(name for name in order if name in names)


def _in_sync_window(created_at: datetime, tenant: TenantContext) -> bool:
    return created_at >= tenant.connected_at or tenant.backfills(created_at)


def _iso(moment: datetime | None) -> str | None:
    # As Vitally writes times: UTC, milliseconds, "Z".
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
