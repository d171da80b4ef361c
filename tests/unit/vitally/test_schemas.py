from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from schemas.vitally import (
    ConversationCreate,
    MessageCreate,
    Page,
    Participant,
    VitallyAdmin,
    VitallyConversation,
    VitallyConversationSummary,
    VitallyUser,
)

ADMIN = Participant(type="admin", id="adm_1")
USER = Participant(type="user", id="usr_1")


def message(**overrides: object) -> MessageCreate:
    fields: dict[str, object] = {
        "external_id": "unthread:m_1",
        "message": "<p>Hi</p>",
        "from_": USER,
        "to": [ADMIN],
    }
    fields.update(overrides)
    return MessageCreate.model_validate(fields)


def test_message_serialises_camel_case_with_from_and_utc_millis() -> None:
    plus_two = timezone(timedelta(hours=2))
    body = message(timestamp=datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=plus_two))
    assert body.model_dump(mode="json", by_alias=True, exclude_none=True) == {
        "externalId": "unthread:m_1",
        "message": "<p>Hi</p>",
        "from": {"type": "user", "id": "usr_1"},
        "to": [{"type": "admin", "id": "adm_1"}],
        "timestamp": "2026-11-25T10:00:00.123Z",
    }


def test_missing_timestamp_is_left_out() -> None:
    assert "timestamp" not in message().model_dump(mode="json", by_alias=True, exclude_none=True)


def test_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValidationError):
        message(timestamp=datetime(2026, 11, 25, 10, 0, 0))  # naive, on purpose


def test_message_accepts_the_wire_name_from() -> None:
    parsed = MessageCreate.model_validate(
        {"externalId": "m", "message": "x", "from": {"type": "admin", "id": "a"}, "to": []}
    )
    assert parsed.from_ == Participant(type="admin", id="a")


def test_conversation_needs_at_least_one_message() -> None:
    with pytest.raises(ValidationError):
        ConversationCreate(external_id="c_1", subject="s", messages=[])


def test_conversation_serialises_traits_and_drops_unset_external_url() -> None:
    body = ConversationCreate(
        external_id="c_1",
        subject="CSV export fails",
        messages=[message()],
        traits={"unthreadStatus": "open", "priority": 5, "tags": ["billing"]},
    ).model_dump(mode="json", by_alias=True, exclude_none=True)
    assert body["externalId"] == "c_1"
    assert body["traits"] == {"unthreadStatus": "open", "priority": 5, "tags": ["billing"]}
    assert "externalUrl" not in body
    assert body["messages"][0]["externalId"] == "unthread:m_1"


def test_request_models_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        Participant.model_validate({"type": "user", "id": "u", "email": "x@y"})


def test_responses_ignore_undocumented_fields() -> None:
    user = VitallyUser.model_validate(
        {"id": "usr_1", "email": "jane@x.io", "externalId": "12", "traits": {}, "accounts": []}
    )
    assert (user.id, user.email, user.external_id) == ("usr_1", "jane@x.io", "12")


@pytest.mark.parametrize(
    ("status", "active"), [("active", True), ("deactivated", False), ("auto-created", False)]
)
def test_only_active_admins_are_active(status: str, active: bool) -> None:
    assert VitallyAdmin(id="a", license_status=status).is_active is active


def test_conversation_reads_messages_and_page_reads_cursor() -> None:
    conversation = VitallyConversation.model_validate(
        {
            "id": "v1",
            "externalId": "c_1",
            "messages": [
                {
                    "id": "vm1",
                    "externalId": "m_1",
                    "conversationId": "v1",
                    "type": "inbound",
                    "timestamp": "2020-12-04T18:37:55.000Z",
                }
            ],
        }
    )
    assert conversation.messages[0].external_id == "m_1"
    assert conversation.messages[0].timestamp == datetime(2020, 12, 4, 18, 37, 55, tzinfo=UTC)
    page = Page[VitallyConversationSummary].model_validate(
        {"results": [{"id": "v1", "externalId": "c_1"}], "next": "abc", "atEnd": False}
    )
    assert (page.results[0].external_id, page.next) == ("c_1", "abc")


@pytest.mark.parametrize(
    ("created_at", "read"),
    [
        ("2026-12-01T10:00:00.000Z", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("2026-12-01T10:00:00", datetime(2026, 12, 1, 10, tzinfo=UTC)),  # no zone: UTC
        ("last tuesday", None),  # unreadable: unknown, and the page still reads
        (None, None),
    ],
)
def test_a_listed_conversation_reads_created_at_leniently(
    created_at: str | None, read: datetime | None
) -> None:
    page = Page[VitallyConversationSummary].model_validate(
        {"results": [{"id": "v1", "externalId": "c_1", "createdAt": created_at}], "next": None}
    )
    assert page.results[0].created_at == read
