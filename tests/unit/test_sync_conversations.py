"""conversation_created / _updated / _deleted against an in-memory Vitally."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from demo import events as ev

from processors.results import SyncResult
from schemas.audit import Reason
from schemas.state import ConversationState
from schemas.vitally import ConversationUpdate, Participant
from tests.fakes import CONNECTED_AT, tenant_context
from tests.unit.sync_world import (
    CONV,
    JANE,
    KIM,
    OPS,
    SAM,
    TENANT,
    UNTHREAD_LINK,
    World,
    created,
    deleted,
    posted,
    updated,
)

LOG_FILE = {"id": "F01", "name": "log.txt", "size": 120, "mimetype": "text/plain"}


def initial(text: str = "Hi, *export* fails", **fields: Any) -> dict[str, Any]:
    fields.setdefault("sender", JANE)
    return ev.message(CONV, text, message_id="m_initial", **fields)


def user(id_: str) -> Participant:
    return Participant(type="user", id=id_)


def admin(id_: str) -> Participant:
    return Participant(type="admin", id=id_)


async def test_customer_conversation_is_created_from_user_to_assignee() -> None:
    w = World()
    result = await w.run(created(title="CSV export fails", text="Hi, *export* fails"), offset=7)

    assert result.outcome == "synced" and result.reason is None
    [stored] = w.vitally.conversations(TENANT)
    assert stored.body.external_id == CONV
    assert stored.body.subject == "CSV export fails"
    [first] = stored.body.messages
    assert first.external_id == "m_initial"
    assert first.message == "<p>Hi, <strong>export</strong> fails</p>"
    assert first.from_ == user(w.jane.id)
    assert first.to == [admin(w.sam.id)]
    assert first.timestamp == ev.EPOCH
    assert result.vitally_conversation_id == stored.id
    assert result.vitally_message_id == stored.messages[0].message.id
    assert result.state == ConversationState(
        tenant_id=TENANT,
        conversation_id=CONV,
        status="synced",
        vitally_conversation_id=stored.id,
        customer_email=JANE,
        customer_user_id=w.jane.id,
        assignee_email=SAM,
        admin_id=w.sam.id,
        last_offset=7,
        message_ids=("m_initial",),
        subject="CSV export fails",
        traits=stored.body.traits,
        version_ms=int(ev.EPOCH.timestamp() * 1000),
        event_ms=int(ev.EPOCH.timestamp() * 1000),
    )
    assert w.vitally.methods() == [
        "find_user_by_email",
        "find_admin_by_email",
        "create_conversation",
    ]


async def test_calls_go_to_the_tenants_target() -> None:
    w = World()
    await w.run(created())
    assert w.vitally.calls
    assert set(w.vitally.targets()) == {w.tenant.target}
    assert len(w.vitally.targets()) == len(w.vitally.calls)


async def test_subject_from_the_initial_message_when_there_is_no_title() -> None:
    w = World()
    text = "The *nightly* CSV export to <https://s3.example/b|our bucket> " + "fails again " * 12
    await w.run(created(title=None, text=text))
    [stored] = w.vitally.conversations(TENANT)
    subject = stored.body.subject
    assert subject.startswith("The nightly CSV export to our bucket fails again")
    assert subject.endswith("…") and len(subject) <= 80
    assert "*" not in subject and "https" not in subject


async def test_blank_title_counts_as_none() -> None:
    w = World()
    await w.run(created(title="   ", text="Export broken"))
    assert w.vitally.conversations(TENANT)[0].body.subject == "Export broken"


@pytest.mark.parametrize(
    ("friendly_id", "subject"),
    [(42, "Unthread conversation #42"), (None, "Unthread conversation")],
)
async def test_subject_fallback_when_neither_gives_text(
    friendly_id: int | None, subject: str
) -> None:
    w = World()
    files_only = initial("", external=True, files=[LOG_FILE])
    result = await w.run(created(title=None, initial=files_only, friendlyId=friendly_id))
    assert result.outcome == "synced"
    [stored] = w.vitally.conversations(TENANT)
    assert stored.body.subject == subject
    # A file with no public link links to the conversation in Unthread.
    assert stored.body.messages[0].message == (
        f'<ul><li><a href="{UNTHREAD_LINK}" rel="noopener noreferrer">log.txt</a>'
        " (text/plain, 120 B, in Unthread)</li></ul>"
    )


async def test_subject_names_the_mentioned_author_and_has_no_markup() -> None:
    w = World()
    jane = {"id": "u_jane", "name": "Jane Doe", "email": JANE, "slackId": "U0JANE"}
    text = "<@U0JANE|jd> here: *export* of <https://x.io/_a_|the report> fails"
    await w.run(created(title=None, initial=initial(text, external=True, user=jane)))
    [stored] = w.vitally.conversations(TENANT)
    assert stored.body.subject == "@Jane Doe here: export of the report fails"


async def test_long_title_is_shortened() -> None:
    w = World()
    await w.run(created(title="Export " + "really " * 30 + "broken"))
    subject = w.vitally.conversations(TENANT)[0].body.subject
    assert len(subject) <= 80 and subject.endswith("…")


async def test_title_is_the_body_when_the_initial_message_has_no_text() -> None:
    w = World()
    result = await w.run(created(title="Invoice <wrong>", text="   "))
    assert result.outcome == "synced"
    [first] = w.vitally.conversations(TENANT)[0].body.messages
    assert first.message == "<p>Invoice &lt;wrong&gt;</p>"


async def test_traits_carry_unthread_fields_and_omit_nulls() -> None:
    w = World()
    await w.run(
        created(
            friendlyId=42,
            status="closed",
            priority=7,
            channelId="C07ABC",
            tags=[{"id": "t1", "name": "billing"}, {"id": "t2", "name": None}],
            closedAt="2026-11-25T11:00:00Z",
            statusUpdatedAt="2026-11-25T11:00:00.250",
        )
    )
    assert w.vitally.conversations(TENANT)[0].body.traits == {
        "unthreadFriendlyId": 42,
        "unthreadStatus": "closed",
        "unthreadPriority": 7,
        "unthreadChannelId": "C07ABC",
        "unthreadTags": ["billing"],
        "unthreadAssigneeName": "sam",
        "unthreadAssigneeEmail": SAM,
        "unthreadClosedAt": "2026-11-25T11:00:00.000Z",
        "unthreadStatusUpdatedAt": "2026-11-25T11:00:00.250Z",
        "unthreadUrl": UNTHREAD_LINK,
    }
    w2 = World()
    await w2.run(
        created(friendlyId=None, priority=None, channelId=None, tags=[], assignee=None),
        offset=1,
    )
    assert w2.vitally.conversations(TENANT)[0].body.traits == {
        "unthreadStatus": "open",
        "unthreadUrl": UNTHREAD_LINK,
    }


async def test_an_unreadable_closed_time_is_unknown_not_a_broken_event() -> None:
    w = World()
    result = await w.run(created(closedAt="yesterday", statusUpdatedAt="soon"))
    assert result.outcome == "synced"
    traits = w.vitally.conversations(TENANT)[0].body.traits
    assert "unthreadClosedAt" not in traits and "unthreadStatusUpdatedAt" not in traits


async def test_an_unreadable_time_on_an_update_leaves_the_trait_alone() -> None:
    w = World()
    closed = "2026-11-25T10:01:00.000Z"
    state = await w.synced_conversation(status="closed", closedAt=closed)
    result = await w.run(
        updated(assignee=SAM, status="closed", closedAt="soon"), state=state, offset=2
    )
    assert result.reason == "no_change"
    assert w.vitally.conversations(TENANT)[0].traits["unthreadClosedAt"] == closed


@pytest.mark.parametrize(
    "arrange",
    [
        pytest.param(lambda w: None, id="assignee-not-in-vitally"),
        pytest.param(lambda w: w.vitally.add_admin(TENANT, KIM, "deactivated"), id="deactivated"),
        pytest.param(lambda w: w.vitally.add_admin(TENANT, KIM, "auto-created"), id="auto-created"),
    ],
)
async def test_unusable_assignee_falls_back_to_the_default_admin(arrange: Any) -> None:
    w = World()
    arrange(w)
    result = await w.run(created(assignee=KIM))
    assert result.outcome == "synced"
    [first] = w.vitally.conversations(TENANT)[0].body.messages
    assert first.to == [admin(w.ops.id)]
    assert result.state is not None
    assert result.state.admin_id == w.ops.id
    assert result.state.assignee_email == KIM  # remembered: a later update compares with it


async def test_unassigned_conversation_goes_to_the_default_admin() -> None:
    w = World()
    result = await w.run(created(assignee=None))
    assert result.outcome == "synced"
    assert w.vitally.conversations(TENANT)[0].body.messages[0].to == [admin(w.ops.id)]


async def test_support_initiated_conversation_is_from_admin_to_user() -> None:
    w = World()
    opened_by_sam = initial("We noticed your export failing", sender=SAM, sent_by=SAM)
    result = await w.run(created(initial=opened_by_sam, assignee=None))
    assert result.outcome == "synced"
    [first] = w.vitally.conversations(TENANT)[0].body.messages
    assert first.from_ == admin(w.sam.id)
    assert first.to == [user(w.jane.id)]
    assert result.state is not None
    assert result.state.customer_user_id == w.jane.id
    assert result.state.admin_id == w.ops.id  # later customer replies go to the default admin


async def test_customer_taken_from_the_sender_when_there_is_no_submitter() -> None:
    w = World()
    result = await w.run(created(submitter=None, initial=initial(sender=JANE, external=True)))
    assert result.outcome == "synced"
    assert result.state is not None and result.state.customer_email == JANE
    assert w.vitally.conversations(TENANT)[0].body.messages[0].from_ == user(w.jane.id)


# ----- skips: nothing is created, and the state says why -----


async def assert_skipped(w: World, result: SyncResult, reason: Reason) -> None:
    assert (result.outcome, result.reason) == ("skipped", reason)
    assert w.vitally.conversations(TENANT) == []
    assert "create_conversation" not in w.vitally.methods()
    assert result.state is not None
    assert result.state.status == "skipped" and result.state.skip_reason == reason
    assert not result.state.synced


async def test_created_before_connect() -> None:
    w = World()
    before = CONNECTED_AT - timedelta(seconds=1)
    result = await w.run(created(created_at=before))
    await assert_skipped(w, result, "created_before_connect")
    assert w.vitally.calls == []


async def test_created_at_connect_time_is_synced() -> None:
    w = World()
    result = await w.run(created(created_at=CONNECTED_AT))
    assert result.outcome == "synced"


async def test_created_before_connect_falls_back_to_the_initial_message_time() -> None:
    w = World()
    old = ev.message(
        CONV,
        "hi",
        message_id="m_initial",
        sender=JANE,
        external=True,
        at=CONNECTED_AT - timedelta(days=3),
    )
    result = await w.run(created(initial=old, createdAt=None))
    await assert_skipped(w, result, "created_before_connect")


async def test_no_initial_message() -> None:
    w = World()
    await assert_skipped(w, await w.run(created(no_initial=True)), "no_initial_message")


async def test_no_sender_email() -> None:
    w = World()
    no_email = initial(sender=None, external=True)
    await assert_skipped(w, await w.run(created(initial=no_email)), "no_sender_email")


async def test_no_customer_email_for_a_support_initiated_conversation() -> None:
    w = World()
    by_sam = initial(sender=SAM, sent_by=SAM)
    result = await w.run(created(initial=by_sam, submitter=None))
    await assert_skipped(w, result, "no_sender_email")


async def test_customer_not_in_vitally() -> None:
    w = World()
    stranger = "nobody@stranger.example"
    result = await w.run(created(submitter=stranger))
    await assert_skipped(w, result, "customer_not_in_vitally")
    assert result.state is not None and result.state.customer_email == stranger


async def test_teammate_not_in_vitally_when_default_admin_is_missing() -> None:
    w = World(tenant_context(TENANT, default_admin_email="gone@vendor.example"))
    result = await w.run(created(assignee=None))
    await assert_skipped(w, result, "teammate_not_in_vitally")


async def test_teammate_not_in_vitally_when_support_sender_is_unknown() -> None:
    w = World()
    by_kim = initial(sender=KIM, sent_by=KIM)
    result = await w.run(created(initial=by_kim))
    await assert_skipped(w, result, "teammate_not_in_vitally")


@pytest.mark.parametrize(
    ("fields", "reason", "shown"),
    [
        ({"isAutoresponse": True}, "automated_message", "<p>Thanks, we are on it</p>"),
        ({"botId": "B01", "botName": "Form"}, "automated_message", "<p>Thanks, we are on it</p>"),
        ({"subtype": "bot_message"}, "automated_message", "<p>Thanks, we are on it</p>"),
        (
            {"metadata": {"eventType": "autoresponder_replied"}},
            "automated_message",
            "<p>Thanks, we are on it</p>",
        ),
        # A private note's text is never shown: the title stands in for it.
        ({"isPrivateNote": True}, "private_note", "<p>CSV export fails</p>"),
    ],
)
async def test_a_first_message_not_synced_still_creates_the_conversation_from_the_submitter(
    fields: dict[str, Any], reason: str, shown: str
) -> None:
    w = World()
    bot = initial("Thanks, we are on it", sender="bot@vendor.example", **fields)
    result = await w.run(created(initial=bot))
    assert result.outcome == "synced"
    assert result.detail == f"first message {reason}: from the submitter"
    [stored] = w.vitally.conversations(TENANT)
    [first] = stored.body.messages
    assert (first.message, first.from_, first.to) == (shown, user(w.jane.id), [admin(w.sam.id)])
    assert first.external_id == "m_initial"
    # Follow-ups now have a place to land.
    assert result.state is not None and result.state.synced
    reply = await w.run(posted(text="Any news?", sender=JANE), state=result.state, offset=99)
    assert reply.outcome == "synced"


async def test_a_private_first_message_without_title_shows_neither_its_text_nor_a_guess() -> None:
    w = World()
    note = initial("Customer is on the legacy plan, be careful", isPrivateNote=True)
    result = await w.run(created(title=None, initial=note, friendlyId=42))
    assert result.outcome == "synced"
    [stored] = w.vitally.conversations(TENANT)
    assert stored.body.subject == "Unthread conversation #42"
    assert stored.body.messages[0].message == "<p>Unthread conversation #42</p>"
    assert "legacy" not in json.dumps(stored.body.model_dump(mode="json"))


async def test_a_bot_first_message_without_submitter_email_is_skipped() -> None:
    w = World()
    bot = initial("Thanks", sender=None, botId="B01")
    result = await w.run(created(initial=bot, submitter=None))
    await assert_skipped(w, result, "no_sender_email")


async def test_a_create_sent_again_after_the_deletion_changes_nothing() -> None:
    w = World(tenant=tenant_context(TENANT, on_conversation_deleted="delete"))
    first = await w.run(created(), offset=1)
    gone = await w.run(deleted(), state=first.state, offset=2)
    assert gone.outcome == "synced" and w.vitally.conversations(TENANT) == []
    again = await w.run(created(), state=gone.state, offset=3)
    assert (again.outcome, again.reason) == ("skipped", "conversation_deleted")
    assert w.vitally.conversations(TENANT) == []
    kept = World()
    first = await kept.run(created(), offset=1)
    gone = await kept.run(deleted(), state=first.state, offset=2)
    again = await kept.run(created(), state=gone.state, offset=3)
    assert (again.outcome, again.reason) == ("skipped", "conversation_deleted")
    assert len(kept.vitally.conversations(TENANT)) == 1


async def test_empty_message_without_title() -> None:
    w = World()
    result = await w.run(created(title=None, text="  \n "))
    await assert_skipped(w, result, "empty_message")


async def test_a_skipped_conversation_is_tried_again_on_a_later_event() -> None:
    w = World()
    first = await w.run(created(submitter="new@customer.example"), offset=1)
    assert first.reason == "customer_not_in_vitally"
    w.vitally.add_user(TENANT, "new@customer.example")
    await w.directory.forget(w.tenant.target, "user", "new@customer.example")  # miss expired
    again = await w.run(created(submitter="new@customer.example"), state=first.state, offset=2)
    assert again.outcome == "synced"
    assert len(w.vitally.conversations(TENANT)) == 1


# ----- never twice -----


async def test_already_synced_is_a_duplicate_without_calls() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(created(), state=state, offset=5)
    assert (result.outcome, result.reason) == ("duplicate", "already_synced")
    assert w.vitally.calls == []
    assert len(w.vitally.conversations(TENANT)) == 1
    assert result.state is not None and result.state.last_offset == 5
    assert result.vitally_conversation_id == state.vitally_conversation_id


async def test_verify_finds_the_conversation_and_does_not_create_it_again() -> None:
    w = World()
    await w.synced_conversation()  # reached Vitally, but the table never heard of it
    [existing] = w.vitally.conversations(TENANT)
    result = await w.run(created(), verify=True)
    assert (result.outcome, result.reason) == ("duplicate", "already_in_vitally")
    assert "create_conversation" not in w.vitally.methods()
    assert w.vitally.count("list_conversations") == 1
    assert len(w.vitally.conversations(TENANT)) == 1
    assert result.state is not None and result.state.synced
    assert result.state.vitally_conversation_id == existing.id
    assert result.state.message_ids == ("m_initial",)


async def test_verify_creates_when_vitally_has_nothing() -> None:
    w = World()
    result = await w.run(created(), verify=True)
    assert result.outcome == "synced"
    methods = w.vitally.methods()
    assert methods.index("list_conversations") < methods.index("create_conversation")


async def test_without_verify_vitally_is_not_searched() -> None:
    w = World()
    await w.run(created())
    assert "list_conversations" not in w.vitally.methods()


# ----- conversation_updated -----


def shown(w: World) -> dict[str, Any]:
    """The one Vitally conversation's subject and traits, as updates left them."""
    [stored] = w.vitally.conversations(TENANT)
    return {"subject": stored.subject, **stored.traits}


def puts(w: World) -> list[ConversationUpdate]:
    sent = [args[2] for method, args in w.vitally.calls if method == "update_conversation"]
    return [change for change in sent if isinstance(change, ConversationUpdate)]


async def test_update_sends_only_what_changed_and_says_which_fields() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(updated(assignee=SAM, status="in_progress"), state=state, offset=2)

    assert (result.outcome, result.reason, result.detail) == ("synced", None, "status")
    assert result.vitally_conversation_id == state.vitally_conversation_id
    assert puts(w) == [ConversationUpdate(traits={"unthreadStatus": "in_progress"})]
    assert shown(w)["unthreadStatus"] == "in_progress"
    assert result.state is not None and result.state.traits is not None
    assert result.state.traits["unthreadStatus"] == "in_progress"
    assert result.state.last_offset == 2
    assert result.state.version_ms == int(ev.later(ev.EPOCH, 60).timestamp() * 1000)


async def test_a_closed_conversation_shows_closed_with_its_times() -> None:
    w = World()
    state = await w.synced_conversation()
    closing = updated(
        assignee=SAM, status="closed",
        closedAt="2026-11-25T10:01:00Z", statusUpdatedAt="2026-11-25T10:01:00Z",
    )  # fmt: skip
    result = await w.run(closing, state=state, offset=2)

    assert result.detail == "status,closedAt,statusUpdatedAt"
    assert shown(w) | {"unthreadFriendlyId": None} == {
        "subject": "CSV export fails",
        "unthreadFriendlyId": None,
        "unthreadStatus": "closed",
        "unthreadPriority": 5,
        "unthreadChannelId": "C07DEMO",
        "unthreadTags": ["support"],
        "unthreadAssigneeName": "sam",
        "unthreadAssigneeEmail": SAM,
        "unthreadClosedAt": "2026-11-25T10:01:00.000Z",
        "unthreadStatusUpdatedAt": "2026-11-25T10:01:00.000Z",
        "unthreadUrl": UNTHREAD_LINK,
    }


async def test_update_reroutes_later_customer_replies_to_the_new_assignee() -> None:
    w = World()
    kim = w.vitally.add_admin(TENANT, KIM)
    state = await w.synced_conversation()
    result = await w.run(updated(assignee=KIM, status="open"), state=state, offset=2)
    assert (result.outcome, result.detail) == ("synced", "assignee")
    assert result.state is not None
    assert result.state.admin_id == kim.id and result.state.assignee_email == KIM
    assert result.state.last_offset == 2
    assert (shown(w)["unthreadAssigneeName"], shown(w)["unthreadAssigneeEmail"]) == ("kim", KIM)
    assert "create_conversation" not in w.vitally.methods()

    reply = await w.run(posted("still broken"), state=result.state, offset=3)
    assert reply.outcome == "synced"
    [_, message] = w.vitally.conversations(TENANT)[0].messages
    assert message.body.from_ == user(w.jane.id)
    assert message.body.to == [admin(kim.id)]


async def test_update_to_an_assignee_not_in_vitally_routes_to_the_default_admin() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(updated(assignee="new@vendor.example"), state=state, offset=2)
    assert result.state is not None and result.state.admin_id == w.ops.id
    assert shown(w)["unthreadAssigneeEmail"] == "new@vendor.example"


async def test_unassigning_clears_the_assignee_traits() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(updated(assignee=None, status="open"), state=state, offset=2)
    assert result.detail == "assignee"
    assert puts(w) == [
        ConversationUpdate(traits={"unthreadAssigneeName": None, "unthreadAssigneeEmail": None})
    ]
    assert "unthreadAssigneeEmail" not in shown(w)
    assert result.state is not None and result.state.admin_id == w.ops.id
    assert result.state.traits is not None and "unthreadAssigneeName" not in result.state.traits


async def test_an_update_that_changes_nothing_synced_sends_nothing() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(updated(assignee=SAM, status="open"), state=state, offset=2)
    assert (result.outcome, result.reason) == ("skipped", "no_change")
    assert w.vitally.calls == []
    assert result.state is not None and result.state.last_offset == 2
    assert result.state.version_ms == int(ev.later(ev.EPOCH, 60).timestamp() * 1000)


async def test_an_older_update_arriving_late_changes_nothing() -> None:
    w = World()
    state = await w.synced_conversation()
    newer = await w.run(updated(assignee=SAM, status="closed", seconds=120), state=state, offset=2)
    assert newer.outcome == "synced" and newer.state is not None
    w.vitally.calls.clear()

    older = await w.run(updated(assignee=KIM, status="on_hold", seconds=60), state=newer.state,
                        offset=3)  # fmt: skip
    assert (older.outcome, older.reason) == ("skipped", "stale_update")
    assert w.vitally.calls == []
    assert older.state == newer.state.at_offset(3)
    assert shown(w)["unthreadStatus"] == "closed"


async def test_a_status_change_counts_by_its_status_time_too() -> None:
    w = World()
    state = await w.synced_conversation()
    # updatedAt says nothing new, statusUpdatedAt does: not stale against a later updatedAt.
    first = await w.run(updated(assignee=SAM, status="on_hold", seconds=90), state=state, offset=2)
    assert first.state is not None
    later = updated(
        assignee=SAM, status="closed", seconds=60, statusUpdatedAt=ev.iso(ev.later(ev.EPOCH, 120))
    )
    result = await w.run(later, state=first.state, offset=3)
    assert result.outcome == "synced"
    assert shown(w)["unthreadStatus"] == "closed"


async def test_without_update_times_the_event_time_orders_updates() -> None:
    w = World()
    state = await w.synced_conversation()
    newer = updated(assignee=SAM, status="closed", seconds=120, updatedAt=None)
    first = await w.run(newer, state=state, offset=2)
    assert first.state is not None
    assert first.state.event_ms == int(ev.later(ev.EPOCH, 120).timestamp() * 1000)
    older = updated(assignee=SAM, status="open", seconds=100, updatedAt=None)
    result = await w.run(older, state=first.state, offset=3)
    assert result.reason == "stale_update"


async def test_a_new_title_becomes_the_subject() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(
        updated(assignee=SAM, status="open", title="CSV *export* fails for everyone"),
        state=state,
        offset=2,
    )
    assert result.detail == "subject"
    assert puts(w) == [ConversationUpdate(subject="CSV export fails for everyone")]
    assert result.state is not None and result.state.subject == "CSV export fails for everyone"


async def test_a_removed_title_keeps_the_subject() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(updated(assignee=SAM, status="open", title=None), state=state, offset=2)
    assert result.reason == "no_change"
    assert shown(w)["subject"] == "CSV export fails"


async def test_fields_an_update_leaves_out_are_left_alone() -> None:
    w = World()
    state = await w.synced_conversation()
    sparse = ev.Record.of(
        CONV,
        ev.envelope(
            TENANT,
            "conversation_updated",
            # An assignee id without the user it names says nothing about who that is.
            {"id": CONV, "status": "closed", "assignedToUserId": "u_kim"},
            at=ev.later(ev.EPOCH, 60),
        ),
    )
    result = await w.run(sparse, state=state, offset=2)
    assert (result.outcome, result.detail) == ("synced", "status")
    assert puts(w) == [ConversationUpdate(traits={"unthreadStatus": "closed"})]
    assert result.state is not None and result.state.admin_id == w.sam.id
    assert shown(w)["unthreadAssigneeEmail"] == SAM and shown(w)["unthreadPriority"] == 5


@pytest.mark.parametrize(
    "assignee",
    [
        pytest.param({"assignedToUser": "u_kim", "assignedToUserId": "u_kim"}, id="bare-id"),
        pytest.param({"assignedToUser": {"id": "u_kim"}}, id="id-only-object"),
    ],
)
async def test_an_assignee_named_by_id_alone_is_unknown_not_unassigned(
    assignee: dict[str, Any],
) -> None:
    w = World()
    state = await w.synced_conversation()
    data = {"conversation": {"id": CONV, "status": "closed", **assignee}}  # nested, too
    record = ev.Record.of(
        CONV, ev.envelope(TENANT, "conversation_updated", data, at=ev.later(ev.EPOCH, 60))
    )
    result = await w.run(record, state=state, offset=2)
    assert (result.outcome, result.detail) == ("synced", "status")
    assert result.state is not None and result.state.admin_id == w.sam.id
    assert shown(w)["unthreadAssigneeEmail"] == SAM


async def test_a_conversation_stored_before_traits_were_kept_is_sent_whole_once() -> None:
    w = World()
    state = await w.synced_conversation()
    old = state.model_dump(by_alias=True, mode="json")
    for field in ("subject", "traits", "versionMs", "vitallyDeleted"):
        old.pop(field)
    legacy = ConversationState.from_json(json.dumps(old).encode())
    assert (legacy.subject, legacy.traits, legacy.version_ms) == (None, None, None)

    result = await w.run(updated(assignee=SAM, status="open"), state=legacy, offset=2)
    assert result.outcome == "synced"
    [change] = puts(w)
    assert change.subject == "CSV export fails"
    assert change.traits is not None and change.traits["unthreadStatus"] == "open"
    assert result.state is not None and result.state.traits == state.traits
    again = await w.run(updated(assignee=SAM, status="open"), state=result.state, offset=3)
    assert again.reason == "no_change"


async def test_the_audit_detail_names_fields_never_values() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(
        updated(assignee=KIM, status="closed", title="Secret plans", tags=[{"name": "vip"}]),
        state=state,
        offset=2,
    )
    assert result.detail == "status,tags,assignee,subject"


async def test_update_of_a_conversation_not_synced() -> None:
    w = World()
    result = await w.run(updated(assignee=KIM))
    assert (result.outcome, result.reason, result.state) == (
        "skipped",
        "conversation_not_synced",
        None,
    )


async def test_update_of_a_deleted_conversation() -> None:
    w = World()
    state = await w.synced_conversation()
    gone = await w.run(deleted(), state=state, offset=2)
    result = await w.run(updated(assignee=KIM), state=gone.state, offset=3)
    assert (result.outcome, result.reason) == ("skipped", "conversation_deleted")
    assert w.vitally.calls == []


# ----- conversation_deleted -----


def deleting(**settings: Any) -> World:
    return World(tenant_context(TENANT, default_admin_email=OPS, **settings))


async def test_deleted_conversation_takes_no_more_messages() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(deleted(), state=state, offset=2)
    assert (result.outcome, result.reason) == ("skipped", "deletion_not_synced")
    assert result.state is not None and result.state.status == "deleted"
    assert result.state.vitally_conversation_id == state.vitally_conversation_id
    assert len(w.vitally.conversations(TENANT)) == 1  # the Vitally record stays

    reply = await w.run(posted(), state=result.state, offset=3)
    assert (reply.outcome, reply.reason) == ("skipped", "conversation_deleted")
    assert w.vitally.calls == []


async def test_a_tenant_that_asks_for_it_has_the_vitally_conversation_deleted() -> None:
    w = deleting(on_conversation_deleted="delete")
    state = await w.synced_conversation()
    result = await w.run(deleted(), state=state, offset=2)
    assert (result.outcome, result.reason) == ("synced", None)
    assert result.vitally_conversation_id == state.vitally_conversation_id
    assert w.vitally.methods() == ["delete_conversation"]
    assert w.vitally.conversations(TENANT) == []
    assert result.state is not None and result.state.vitally_deleted
    assert result.state.status == "deleted"

    resent = await w.run(deleted(), state=result.state, offset=3)
    assert (resent.outcome, resent.reason) == ("duplicate", "already_synced")
    reply = await w.run(posted(), state=resent.state, offset=4)
    assert reply.reason == "conversation_deleted"
    assert w.vitally.methods() == ["delete_conversation"]


async def test_deleting_what_vitally_no_longer_has_is_a_duplicate_not_a_failure() -> None:
    w = deleting(on_conversation_deleted="delete")
    state = await w.synced_conversation()
    [stored] = w.vitally.conversations(TENANT)
    await w.vitally.delete_conversation(w.tenant.target, stored.id)  # gone in Vitally already
    result = await w.run(deleted(), state=state, offset=2)
    assert (result.outcome, result.reason) == ("duplicate", "already_deleted")
    assert result.state is not None and result.state.vitally_deleted


async def test_deleting_a_conversation_that_was_never_synced_calls_nobody() -> None:
    w = deleting(on_conversation_deleted="delete")
    stranger = "stranger@else.example"
    skipped = await w.run(created(submitter=stranger, initial=initial(sender=stranger)), offset=1)
    assert skipped.reason == "customer_not_in_vitally"
    w.vitally.calls.clear()
    result = await w.run(deleted(), state=skipped.state, offset=2)
    assert (result.outcome, result.reason) == ("skipped", "conversation_not_synced")
    assert w.vitally.calls == []


async def test_delete_of_an_unknown_conversation() -> None:
    w = deleting(on_conversation_deleted="delete")
    result = await w.run(deleted())
    assert (result.outcome, result.reason, result.state) == (
        "skipped",
        "conversation_not_synced",
        None,
    )


# ----- backfill -----


async def test_a_backfill_syncs_conversations_created_since_it_before_the_connection() -> None:
    since = CONNECTED_AT - timedelta(days=30)
    w = World(tenant_context(TENANT, default_admin_email=OPS, backfill_since=since))
    result = await w.run(created(created_at=CONNECTED_AT - timedelta(days=2)))
    assert result.outcome == "synced"
    older = await w.run(created(conversation_id="c-older", created_at=since - timedelta(seconds=1)))
    assert (older.outcome, older.reason) == ("skipped", "created_before_connect")


async def test_a_conversation_skipped_before_a_backfill_is_synced_when_read_again() -> None:
    w = World()
    before = created(created_at=CONNECTED_AT - timedelta(days=2))
    skipped = await w.run(before, offset=10)
    assert skipped.reason == "created_before_connect" and skipped.state is not None
    reply = await w.run(posted(), state=skipped.state, offset=11)
    assert reply.reason == "conversation_not_synced" and reply.state is not None

    # Without a backfill, reading the topic again skips it again, calling nobody.
    again = await w.run(before, state=reply.state, offset=10)
    assert (again.outcome, again.reason) == ("skipped", "created_before_connect")
    assert w.vitally.calls == []

    w.tenant = tenant_context(
        TENANT, default_admin_email=OPS, backfill_since=CONNECTED_AT - timedelta(days=7)
    )
    synced = await w.run(before, state=reply.state, offset=10)
    assert synced.outcome == "synced" and synced.state is not None
    assert synced.state.last_offset == 10
    follow_up = await w.run(posted(), state=synced.state, offset=11)
    assert follow_up.outcome == "synced"
    assert [m.body.external_id for m in w.vitally.conversations(TENANT)[0].messages] == [
        "m_initial",
        "m_2",
    ]


async def test_email_matching_ignores_case() -> None:
    w = World()
    record = created(
        submitter="Jane@Customer.EXAMPLE",
        assignee="SAM@vendor.example",
        initial=initial(sender="Jane@Customer.EXAMPLE", external=True),
    )
    result = await w.run(record)
    assert result.outcome == "synced"
    [first] = w.vitally.conversations(TENANT)[0].body.messages
    assert (first.from_, first.to) == (user(w.jane.id), [admin(w.sam.id)])
    assert OPS not in [args[1] for _, args in w.vitally.calls]
