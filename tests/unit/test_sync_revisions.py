"""message_updated and message_deleted: an edit or a deletion in Unthread applied in Vitally
by the message's externalId, behind the tenant's settings, never twice."""

from __future__ import annotations

from demo import events as ev

from schemas.events import RevisionEvent
from schemas.state import REMOVED, ConversationState
from tests.fakes import tenant_context
from tests.unit.sync_world import CONV, OPS, TENANT, World, parse, posted, revised

# When revised() says the reply was edited (600 s after it was sent), in ms.
EDITED_AT_MS = int(ev.later(ev.EPOCH, 600).timestamp() * 1000)


def world(*, edits: bool = True, deletions: bool = True) -> World:
    return World(
        tenant_context(
            TENANT, default_admin_email=OPS, sync_message_edits=edits,
            sync_message_deletions=deletions,
        )
    )  # fmt: skip


async def with_reply(w: World) -> ConversationState:
    """The standard conversation with Jane's reply m_2 synced (offset 4)."""
    state = await w.synced_conversation()
    result = await w.run(posted("Any news?", message_id="m_2"), state=state, offset=4)
    assert result.outcome == "synced" and result.state is not None
    w.vitally.calls.clear()
    return result.state


def test_the_events_parse_with_their_edit_signals() -> None:
    event = parse(revised("message_updated"))
    assert isinstance(event, RevisionEvent)
    assert event.data.updated_at is not None and event.sync_origin == "reconcile"
    assert (event.conversation_id, event.message_id) == (CONV, "m_2")
    assert isinstance(parse(revised("message_deleted")), RevisionEvent)


async def test_an_edit_updates_the_message_by_external_id_keeping_time_and_author() -> None:
    w = world()
    state = await with_reply(w)
    [conversation] = w.vitally.conversations(TENANT)
    before = conversation.messages[-1]
    result = await w.run(revised("message_updated"), state=state, offset=7)

    assert (result.outcome, result.reason) == ("synced", None)
    after = w.vitally.conversations(TENANT)[0].messages[-1]
    assert after.message.id == before.message.id == result.vitally_message_id
    assert after.body.message == "<p>Any <strong>news</strong> at all?</p>"
    assert (after.body.from_, after.body.to) == (before.body.from_, before.body.to)
    assert after.body.timestamp == before.body.timestamp
    assert len(w.vitally.conversations(TENANT)[0].messages) == 2
    assert w.vitally.methods() == ["get_conversation", "update_conversation"]
    assert result.state is not None and result.state.revised == {"m_2": EDITED_AT_MS}


async def test_the_same_edit_again_is_a_duplicate_without_a_call() -> None:
    w = world()
    state = await with_reply(w)
    first = await w.run(revised("message_updated"), state=state, offset=7)
    assert first.state is not None
    w.vitally.calls.clear()
    again = await w.run(revised("message_updated"), state=first.state, offset=9)
    assert (again.outcome, again.reason) == ("duplicate", "already_synced")
    assert w.vitally.methods() == []
    older = await w.run(revised("message_updated", seconds=300), state=first.state, offset=10)
    assert (older.outcome, older.reason) == ("skipped", "stale_update")


async def test_an_edit_vitally_already_shows_is_adopted_not_written() -> None:
    # The worker wrote the edit, then crashed before the state was kept.
    w = world()
    state = await with_reply(w)
    await w.run(revised("message_updated"), state=state, offset=7)
    w.vitally.calls.clear()
    result = await w.run(revised("message_updated"), state=state, offset=8)
    assert (result.outcome, result.reason) == ("duplicate", "already_in_vitally")
    assert w.vitally.methods() == ["get_conversation"]
    assert result.state is not None and result.state.revised == {"m_2": EDITED_AT_MS}


async def test_an_edit_of_the_initial_message_updates_the_first_message() -> None:
    w = world()
    state = await w.synced_conversation()
    result = await w.run(revised("message_updated", "Now it works", message_id="m_initial"),
                         state=state, offset=5)  # fmt: skip
    assert result.outcome == "synced"
    first = w.vitally.conversations(TENANT)[0].messages[0]
    assert first.body.external_id == "m_initial" and first.body.message == "<p>Now it works</p>"


async def test_settings_off_skip_and_leave_the_event_replayable() -> None:
    w = world(edits=False, deletions=False)
    state = await with_reply(w)
    edit = await w.run(revised("message_updated"), state=state, offset=7)
    gone = await w.run(revised("message_deleted"), state=state, offset=8)
    assert (edit.outcome, edit.reason) == ("skipped", "edits_disabled")
    assert (gone.outcome, gone.reason) == ("skipped", "deletions_disabled")
    assert w.vitally.methods() == []
    assert edit.state is not None and not edit.state.applied(7)
    assert w.vitally.conversations(TENANT)[0].messages[-1].body.message == "<p>Any news?</p>"


async def test_a_message_never_synced_is_skipped_without_a_call() -> None:
    w = world()
    state = await with_reply(w)
    edit = await w.run(revised("message_updated", message_id="m_note"), state=state, offset=7)
    gone = await w.run(revised("message_deleted", message_id="m_note"), state=state, offset=8)
    assert (edit.outcome, edit.reason) == ("skipped", "message_not_synced")
    assert (gone.outcome, gone.reason) == ("skipped", "message_not_synced")
    assert w.vitally.methods() == []


async def test_an_edited_private_note_stays_out() -> None:
    w = world()
    state = await with_reply(w)
    note = revised("message_updated", "secret", message_id="m_2", isPrivateNote=True)
    result = await w.run(note, state=state, offset=7)
    assert (result.outcome, result.reason) == ("skipped", "private_note")
    assert w.vitally.methods() == []


async def test_a_deletion_removes_the_message_once() -> None:
    w = world()
    state = await with_reply(w)
    result = await w.run(revised("message_deleted", ""), state=state, offset=7)
    assert (result.outcome, result.reason) == ("synced", None)
    messages = w.vitally.conversations(TENANT)[0].messages
    assert [m.body.external_id for m in messages] == ["m_initial"]
    assert w.vitally.methods() == ["get_conversation", "delete_message"]
    assert result.state is not None and result.state.revised == {"m_2": REMOVED}
    w.vitally.calls.clear()
    again = await w.run(revised("message_deleted", ""), state=result.state, offset=9)
    assert (again.outcome, again.reason) == ("duplicate", "already_deleted")
    edit = await w.run(revised("message_updated", seconds=900), state=result.state, offset=10)
    assert (edit.outcome, edit.reason) == ("skipped", "stale_update")
    assert w.vitally.methods() == []


async def test_a_deletion_vitally_already_made_is_remembered() -> None:
    # Removed by an earlier attempt whose state was not kept: nothing left to delete.
    w = world()
    state = await with_reply(w)
    await w.run(revised("message_deleted", ""), state=state, offset=7)
    w.vitally.calls.clear()
    result = await w.run(revised("message_deleted", ""), state=state, offset=8)
    assert (result.outcome, result.reason) == ("skipped", "message_not_synced")
    assert w.vitally.methods() == ["get_conversation"]
    assert result.state is not None and result.state.revised == {"m_2": REMOVED}


async def test_a_conversation_deleted_in_vitally_is_remembered() -> None:
    w = world()
    state = await with_reply(w)
    vitally_id = state.vitally_conversation_id
    assert vitally_id is not None
    await w.vitally.delete_conversation(w.tenant.target, vitally_id)
    result = await w.run(revised("message_updated"), state=state, offset=7)
    assert (result.outcome, result.reason) == ("skipped", "deleted_in_vitally")
    assert result.state is not None and result.state.vitally_missing


async def test_revisions_kept_in_the_state_are_bounded() -> None:
    state = ConversationState(tenant_id=TENANT, conversation_id=CONV, status="synced")
    for n in range(150):
        state = state.with_revision(f"m{n}", n, n)
    assert len(state.revised) == 100 and "m149" in state.revised and "m0" not in state.revised
    assert state.with_revision("m120", REMOVED, 200).revised["m120"] == REMOVED


async def test_a_message_deleted_in_unthread_is_not_brought_back_by_its_create() -> None:
    # A message deleted before it ever reached Vitally, then its create re-driven from the DLQ.
    w = world()
    state = await w.synced_conversation()
    gone = await w.run(revised("message_deleted", "", message_id="m_9"), state=state, offset=5)
    assert gone.state is not None and gone.state.revised == {"m_9": REMOVED}
    late = await w.run(posted("Any news?", message_id="m_9"), state=gone.state, offset=6)
    assert (late.outcome, late.reason) == ("duplicate", "already_deleted")
    assert [m.body.external_id for m in w.vitally.conversations(TENANT)[0].messages] == [
        "m_initial"
    ]
