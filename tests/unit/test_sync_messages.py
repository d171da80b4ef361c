"""message_created: replies into the conversation we created, each side the right way round."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.clock import FrozenClock
from processors.messages import message_time
from schemas.audit import Reason
from schemas.events import Message
from schemas.vitally import Participant
from tests.fakes import tenant_context
from tests.unit.sync_world import (
    JANE,
    JOE,
    KIM,
    SAM,
    TENANT,
    UNTHREAD_LINK,
    World,
    created,
    posted,
)


def user(id_: str) -> Participant:
    return Participant(type="user", id=id_)


def admin(id_: str) -> Participant:
    return Participant(type="admin", id=id_)


async def test_customer_reply_goes_from_user_to_the_conversation_admin() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted("Any *news*?", message_id="m_2"), state=state, offset=4)

    assert result.outcome == "synced" and result.reason is None
    [conversation] = w.vitally.conversations(TENANT)
    reply = conversation.messages[-1]
    assert reply.body.external_id == "m_2"
    assert reply.body.message == "<p>Any <strong>news</strong>?</p>"
    assert (reply.body.from_, reply.body.to) == (user(w.jane.id), [admin(w.sam.id)])
    assert result.vitally_conversation_id == conversation.id
    assert result.vitally_message_id == reply.message.id
    assert result.state == state.with_message("m_2", 4)
    assert w.vitally.methods() == ["add_message"]  # Jane is cached from the creation


async def test_reply_from_the_customers_colleague_is_from_the_colleague() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted(sender=JOE, external=True), state=state)
    assert result.outcome == "synced"
    reply = w.vitally.conversations(TENANT)[0].messages[-1]
    assert reply.body.from_ == user(w.joe.id)


async def test_support_reply_goes_from_admin_to_the_customer() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted("Fixed", sender=SAM, external=False), state=state)
    assert result.outcome == "synced"
    reply = w.vitally.conversations(TENANT)[0].messages[-1]
    assert (reply.body.from_, reply.body.to) == (admin(w.sam.id), [user(w.jane.id)])


async def test_support_reply_sent_from_the_dashboard() -> None:
    w = World()
    kim = w.vitally.add_admin(TENANT, KIM)
    state = await w.synced_conversation()
    # Posted by the Unthread bot user on Kim's behalf: sentByUser names the teammate.
    result = await w.run(
        posted("On it", sender="bot@vendor.example", sent_by=KIM, external=True, botId="B01"),
        state=state,
    )
    assert result.outcome == "synced"
    reply = w.vitally.conversations(TENANT)[0].messages[-1]
    assert (reply.body.from_, reply.body.to) == (admin(kim.id), [user(w.jane.id)])


async def test_reply_as_content_instead_of_text() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted(None, content="from *content*"), state=state)
    assert result.outcome == "synced"
    reply = w.vitally.conversations(TENANT)[0].messages[-1]
    assert reply.body.message == "<p>from <strong>content</strong></p>"


async def test_customer_reply_without_a_conversation_admin_uses_the_default_admin() -> None:
    w = World()
    state = (await w.synced_conversation()).model_copy(update={"admin_id": None})
    result = await w.run(posted(), state=state)
    assert result.outcome == "synced"
    assert w.vitally.conversations(TENANT)[0].messages[-1].body.to == [admin(w.ops.id)]


async def test_customer_reply_without_any_admin() -> None:
    w = World(tenant_context(TENANT, default_admin_email="gone@vendor.example"))
    state = (await w.synced_conversation(assignee=SAM)).model_copy(update={"admin_id": None})
    result = await w.run(posted(), state=state, offset=3)
    assert (result.outcome, result.reason) == ("skipped", "teammate_not_in_vitally")
    assert result.detail == "gone@vendor.example"  # who is missing
    # Passed over, not applied: a replay once the admin exists handles it again.
    assert result.state == state.passed_over(3)
    assert result.state is not None and not result.state.applied(3)


# ----- skips -----


async def assert_skipped(w: World, result: object, reason: Reason) -> None:
    assert getattr(result, "outcome", None) == "skipped"
    assert getattr(result, "reason", None) == reason
    assert "add_message" not in w.vitally.methods()
    assert len(w.vitally.conversations(TENANT)[0].messages) == 1


async def test_conversation_not_synced_without_state() -> None:
    w = World()
    result = await w.run(posted())
    assert (result.outcome, result.reason, result.state) == (
        "skipped",
        "conversation_not_synced",
        None,
    )
    assert w.vitally.calls == []


async def test_conversation_not_synced_when_it_was_skipped() -> None:
    w = World()
    first = await w.run(created(submitter="nobody@stranger.example"), offset=1)
    assert first.state is not None and first.state.status == "skipped"
    result = await w.run(posted(), state=first.state, offset=2)
    assert (result.outcome, result.reason) == ("skipped", "conversation_not_synced")
    assert result.state is not None and result.state.last_offset == 2


async def test_conversation_deleted() -> None:
    w = World()
    state = (await w.synced_conversation()).model_copy(update={"status": "deleted"})
    result = await w.run(posted(), state=state)
    await assert_skipped(w, result, "conversation_deleted")
    assert w.vitally.calls == []


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"isPrivateNote": True, "sender": SAM, "external": False}, "private_note"),
        ({"isAutoresponse": True}, "automated_message"),
        ({"botId": "B01", "botName": "Autoresponder", "sender": None}, "automated_message"),
    ],
)
async def test_not_synced_messages(fields: dict[str, Any], reason: Reason) -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted(**fields), state=state, offset=5)
    await assert_skipped(w, result, reason)
    assert w.vitally.calls == []
    assert result.state == state.at_offset(5)  # remembered as handled, not as a message


async def test_no_sender_email() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted(sender=None, external=True), state=state)
    await assert_skipped(w, result, "no_sender_email")


async def test_customer_not_in_vitally() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted(sender="new@customer.example", external=True), state=state)
    await assert_skipped(w, result, "customer_not_in_vitally")


async def test_teammate_not_in_vitally() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted(sender=KIM, external=False), state=state)
    await assert_skipped(w, result, "teammate_not_in_vitally")


async def test_support_reply_without_a_known_customer_user() -> None:
    w = World()
    state = (await w.synced_conversation()).model_copy(update={"customer_user_id": None})
    result = await w.run(posted(sender=SAM, external=False), state=state)
    await assert_skipped(w, result, "teammate_not_in_vitally")


LOG_FILE = {
    "id": "F01",
    "name": "log.txt",
    "size": 120,
    "mimetype": "text/plain",
    "urlPrivate": "https://files.slack.example/F01/log.txt",
    "urlPrivateDownload": "https://files.slack.example/F01/download/log.txt",
}


@pytest.mark.parametrize("files", [None, []])
@pytest.mark.parametrize("text", ["", "   \n\t", None])
async def test_empty_message(text: str | None, files: list[Any] | None) -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted(text, files=files), state=state)
    await assert_skipped(w, result, "empty_message")


@pytest.mark.parametrize("text", ["", "   \n\t", None])
async def test_a_message_of_files_alone_lists_them(text: str | None) -> None:
    w = World()
    state = await w.synced_conversation()
    public = {
        "id": "F02",
        "name": "screen shot.png",
        "size": 1_572_864,
        "mimetype": "image/png",
        "permalinkPublic": "https://slack-files.example/T1-F02-abc",
    }
    result = await w.run(posted(text, files=[LOG_FILE, public]), state=state)
    assert result.outcome == "synced"
    reply = w.vitally.conversations(TENANT)[0].messages[-1]
    # The private URL needs a Slack login: linked to the conversation in Unthread instead.
    # The public permalink is linked.
    assert reply.body.message == (
        f'<ul><li><a href="{UNTHREAD_LINK}" rel="noopener noreferrer">log.txt</a>'
        " (text/plain, 120 B, in Unthread)</li>"
        '<li><a href="https://slack-files.example/T1-F02-abc" rel="noopener noreferrer">'
        "screen shot.png</a>"
        " (image/png, 1.5 MB)</li></ul>"
    )


async def test_files_are_listed_under_the_text() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted("Here is the *log*", files=[LOG_FILE]), state=state)
    assert result.outcome == "synced"
    reply = w.vitally.conversations(TENANT)[0].messages[-1]
    assert reply.body.message == (
        "<p>Here is the <strong>log</strong></p>"
        f'<ul><li><a href="{UNTHREAD_LINK}" rel="noopener noreferrer">log.txt</a>'
        " (text/plain, 120 B, in Unthread)</li></ul>"
    )


async def test_a_mention_of_the_author_reads_as_their_name() -> None:
    w = World()
    state = await w.synced_conversation()
    jane = {"id": "u_jane", "name": "Jane Doe", "email": JANE, "slackId": "U0JANE"}
    text = "<@U0JANE|jd>, <@u_jane>, <@U777|kim>, <@U888>"
    result = await w.run(posted(text, user=jane), state=state)
    assert result.outcome == "synced"
    reply = w.vitally.conversations(TENANT)[0].messages[-1]
    assert reply.body.message == "<p>@Jane Doe, @Jane Doe, @kim, @user</p>"


# ----- never twice -----


async def test_the_initial_message_sent_again_as_a_reply_is_a_duplicate() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted(message_id="m_initial"), state=state, offset=3)
    assert (result.outcome, result.reason) == ("duplicate", "already_synced")
    assert w.vitally.calls == []
    assert result.state == state.at_offset(3)


async def test_an_upstream_resend_with_a_new_offset_is_a_duplicate() -> None:
    w = World()
    state = await w.synced_conversation()
    first = await w.run(posted(message_id="m_2"), state=state, offset=3)
    assert first.state is not None
    w.vitally.calls.clear()
    again = await w.run(posted(message_id="m_2"), state=first.state, offset=4)
    assert (again.outcome, again.reason) == ("duplicate", "already_synced")
    assert w.vitally.calls == []
    assert len(w.vitally.conversations(TENANT)[0].messages) == 2


async def test_verify_finds_the_message_already_in_vitally() -> None:
    w = World()
    state = await w.synced_conversation()
    await w.run(posted(message_id="m_2"), state=state, offset=3)  # landed; table not updated
    posted_id = w.vitally.conversations(TENANT)[0].messages[-1].message.id
    w.vitally.calls.clear()
    result = await w.run(posted(message_id="m_2"), state=state, offset=3, verify=True)
    assert (result.outcome, result.reason) == ("duplicate", "already_in_vitally")
    assert result.vitally_message_id == posted_id
    assert "add_message" not in w.vitally.methods()
    assert w.vitally.count("get_conversation") == 1
    assert len(w.vitally.conversations(TENANT)[0].messages) == 2
    assert result.state == state.with_message("m_2", 3)


async def test_verify_posts_when_the_message_is_not_there() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted(message_id="m_2"), state=state, verify=True)
    assert result.outcome == "synced"
    assert w.vitally.methods()[-2:] == ["get_conversation", "add_message"]


# ----- timestamps -----


def test_message_time_prefers_timestamp_then_ts_then_event_then_clock() -> None:
    clock = FrozenClock(datetime(2030, 1, 1, tzinfo=UTC))
    at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    event_ms = int(at.timestamp() * 1000) + 5_000
    full = Message(id="m", timestamp=at, ts="1000.5")
    assert message_time(full, event_ms, clock) == at
    ts = Message(id="m", ts=f"{int(at.timestamp()) - 60}.000100")
    assert message_time(ts, event_ms, clock) == datetime(2026, 11, 25, 9, 59, 0, 100, tzinfo=UTC)
    assert message_time(Message(id="m", ts="not a number"), event_ms, clock) == datetime(
        2026, 11, 25, 10, 0, 5, tzinfo=UTC
    )
    assert message_time(Message(id="m"), None, clock) == clock.at
    # Without an event time to judge by, the message's own time stands.
    assert message_time(full, None, clock) == at


@pytest.mark.parametrize(
    ("offset", "trusted"),
    [
        (timedelta(days=-29), True),
        (timedelta(days=-31), False),  # a month before the event that reports it
        (timedelta(minutes=14), True),  # clocks differ a little
        (timedelta(minutes=16), False),  # sent after the event about it: not its time
        (timedelta(days=-20_000), False),  # seconds read as ms: 1970
    ],
)
def test_a_message_time_far_from_its_events_time_is_not_trusted(
    offset: timedelta, trusted: bool
) -> None:
    clock = FrozenClock(datetime(2030, 1, 1, tzinfo=UTC))
    event_at = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    message = Message(id="m", timestamp=event_at + offset)
    expected = event_at + offset if trusted else event_at
    assert message_time(message, int(event_at.timestamp() * 1000), clock) == expected
