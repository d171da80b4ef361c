"""docs/interfaces.md, "Who sent a message": each rule, and that the first match wins."""

from __future__ import annotations

from typing import Any

import pytest

from processors.direction import Sender, classify, normalise_email
from schemas.events import Message

SUBMITTER = "jane@customer.example"


def msg(**fields: Any) -> Message:
    return Message.model_validate({"id": "m_1", "conversationId": "c_1", **fields})


def person(email: str | None) -> dict[str, Any]:
    return {"id": "u_x", "name": "X", "email": email}


# Rule 1: a private note is never synced, whatever else the message says.
@pytest.mark.parametrize(
    "fields",
    [
        {"isPrivateNote": True},
        {"isPrivateNote": True, "isAutoresponse": True},
        {"isPrivateNote": True, "botId": "B1"},
        {"isPrivateNote": True, "sentByUserId": "u_sam", "sentByUser": person("sam@v.example")},
        {"isPrivateNote": True, "isExternal": True, "user": person(SUBMITTER)},
    ],
)
def test_rule_1_private_note_wins_over_everything(fields: dict[str, Any]) -> None:
    assert classify(msg(**fields), submitter_email=SUBMITTER) == "private_note"


# Rule 2: autoresponses, and bot posts that no teammate sent.
@pytest.mark.parametrize(
    "fields",
    [
        {"isAutoresponse": True},
        {"isAutoresponse": True, "sentByUserId": "u_sam", "sentByUser": person("sam@v.example")},
        {"isAutoresponse": True, "isExternal": True, "user": person(SUBMITTER)},
        {"botId": "B1"},
        {"botId": "B1", "botName": "Unthread", "isExternal": False},
        {"botId": "B1", "sentByUser": person("sam@v.example")},  # a user object is not an id
        {"botId": "B1", "isExternal": True, "user": person(SUBMITTER)},
    ],
)
def test_rule_2_automated(fields: dict[str, Any]) -> None:
    assert classify(msg(**fields), submitter_email=SUBMITTER) == "automated_message"


def test_rule_2_bot_post_sent_by_a_teammate_falls_through_to_rule_3() -> None:
    message = msg(botId="B1", sentByUserId="u_sam", sentByUser=person("Sam@Vendor.example"))
    assert classify(message, submitter_email=SUBMITTER) == Sender("support", "sam@vendor.example")


def test_private_note_false_and_autoresponse_false_do_not_skip() -> None:
    message = msg(
        isPrivateNote=False, isAutoresponse=False, isExternal=True, user=person(SUBMITTER)
    )
    assert classify(message, submitter_email=SUBMITTER) == Sender("customer", SUBMITTER)


# Rule 3: sent by a teammate (dashboard / on behalf): support, even if marked external.
def test_rule_3_sent_by_user_id_is_support_with_sent_by_email() -> None:
    message = msg(
        sentByUserId="u_sam",
        sentByUser=person("sam@vendor.example"),
        user=person(SUBMITTER),
        isExternal=True,
    )
    assert classify(message, submitter_email=SUBMITTER) == Sender("support", "sam@vendor.example")


def test_rule_3_sent_by_user_without_id_is_support() -> None:
    message = msg(sentByUser=person("sam@vendor.example"), isExternal=True)
    assert classify(message, submitter_email=SUBMITTER) == Sender("support", "sam@vendor.example")


def test_rule_3_falls_back_to_user_email_when_sent_by_user_has_none() -> None:
    message = msg(sentByUserId="u_sam", sentByUser=person(None), user=person("kim@vendor.example"))
    assert classify(message, submitter_email=SUBMITTER) == Sender("support", "kim@vendor.example")


def test_rule_3_with_only_an_id_uses_user_email() -> None:
    message = msg(sentByUserId="u_sam", user=person("sam@vendor.example"))
    assert classify(message, submitter_email=SUBMITTER) == Sender("support", "sam@vendor.example")


def test_rule_3_beats_a_submitter_email_match() -> None:
    # The teammate posted on the customer's behalf: still support, not the customer.
    message = msg(sentByUserId="u_sam", user=person(SUBMITTER))
    assert classify(message, submitter_email=SUBMITTER) == Sender("support", SUBMITTER)


# Rule 4: isExternal decides, with the user's email.
def test_rule_4_external_true_is_customer() -> None:
    message = msg(isExternal=True, user=person("someone@elsewhere.example"))
    assert classify(message, submitter_email=SUBMITTER) == Sender(
        "customer", "someone@elsewhere.example"
    )


def test_rule_4_external_false_is_support_even_from_the_submitters_domain() -> None:
    message = msg(isExternal=False, user=person(SUBMITTER))
    assert classify(message, submitter_email=SUBMITTER) == Sender("support", SUBMITTER)


def test_rule_4_without_user_email_keeps_the_side_and_no_email() -> None:
    assert classify(msg(isExternal=True), submitter_email=SUBMITTER) == Sender("customer", None)


# Rule 5: no flags at all: by email against the submitter.
@pytest.mark.parametrize(
    ("sender", "submitter", "side"),
    [
        (SUBMITTER, SUBMITTER, "customer"),
        ("  JANE@Customer.Example ", SUBMITTER, "customer"),  # case and space do not matter
        ("joe@customer.example", SUBMITTER, "customer"),  # same domain
        ("joe@CUSTOMER.example", SUBMITTER, "customer"),
        ("sam@vendor.example", SUBMITTER, "support"),
        ("joe@sub.customer.example", SUBMITTER, "support"),  # a subdomain is another domain
        ("sam@vendor.example", None, "support"),  # no submitter to compare with
        (None, SUBMITTER, "support"),
    ],
)
def test_rule_5_by_email(sender: str | None, submitter: str | None, side: str) -> None:
    result = classify(msg(user=person(sender)), submitter_email=submitter)
    assert isinstance(result, Sender)
    assert result.side == side
    assert result.email == normalise_email(sender)


def test_null_flags_are_the_same_as_missing() -> None:
    message = msg(
        isPrivateNote=None,
        isAutoresponse=None,
        botId=None,
        sentByUserId=None,
        sentByUser=None,
        isExternal=None,
        user=person("joe@customer.example"),
    )
    assert classify(message, submitter_email=SUBMITTER) == Sender(
        "customer", "joe@customer.example"
    )


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Jane@Customer.Example", "jane@customer.example"),
        ("  jane@customer.example\n", "jane@customer.example"),
        ("not-an-email", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_email(raw: str | None, normalised: str | None) -> None:
    assert normalise_email(raw) == normalised


# metadata.eventType, as Unthread's webhooks carry it.
@pytest.mark.parametrize(
    "event_type", ["autoresponder_replied", "post_close_template_sent", "email_explanation_sent"]
)
def test_automated_event_types(event_type: str) -> None:
    message = msg(metadata={"eventType": event_type}, user=person("bot@vendor.example"))
    assert classify(message, submitter_email=SUBMITTER) == "automated_message"


@pytest.mark.parametrize(
    "event_type",
    [
        "email_received",
        "widget_message_received",
        "microsoft_teams_message_received",
        "slack_bot_dm_received",
    ],
)
def test_a_customer_message_relayed_by_unthreads_bot_is_the_customers(event_type: str) -> None:
    # Posted into Slack by Unthread's bot (botId, no sentByUserId) on the customer's behalf.
    message = msg(
        botId="B0UNTHREAD",
        botName="Unthread",
        metadata={"eventType": event_type},
        user=person("Jane Doe <Jane@Customer.example>"),
    )
    assert classify(message, submitter_email=None) == Sender("customer", SUBMITTER)


def test_an_outbound_unthread_message_is_supports() -> None:
    message = msg(
        botId="B0UNTHREAD",
        metadata={"eventType": "unthread_outbound"},
        sentByUser=person("sam@vendor.example"),
    )
    assert classify(message, submitter_email=SUBMITTER) == Sender("support", "sam@vendor.example")


def test_a_slack_workflow_post_is_automated() -> None:
    message = msg(subtype="bot_message", botName="Intake form", text="New request")
    assert classify(message, submitter_email=SUBMITTER) == "automated_message"


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("Jane Doe <Jane@Customer.example>", "jane@customer.example"),
        ('"Doe, Jane" <jane@customer.example>', "jane@customer.example"),
        ("<jane@customer.example>", "jane@customer.example"),
        (" jane@customer.example ", "jane@customer.example"),
        ("Jane Doe", None),
        ("jane@localhost", None),
        ("jane at customer.example", None),
        ("", None),
    ],
)
def test_emails_as_people_write_them(raw: str, address: str | None) -> None:
    assert normalise_email(raw) == address


def test_a_sender_whose_email_is_no_address_is_told_at_once() -> None:
    message = msg(isExternal=True, user=person("Jane Doe"))
    assert classify(message, submitter_email=SUBMITTER) == Sender("customer", None, unreadable=True)


# Shapes public clients of Unthread's webhooks show (ids and flags, no expansions).
def test_realistic_webhook_shapes() -> None:
    dashboard_reply = msg(
        ts="1748707943.000100",
        content="On it",
        userId="U0UNTHREADBOT",
        botId="B08ABC",
        botName="Sam Agent",
        sentByUserId="4e1cc76a-agent",
        sentByUser={"id": "4e1cc76a-agent", "email": "sam@vendor.example"},
        metadata={"event_payload": {"conversationUpdates": {}}},
    )
    autoresponse = msg(
        text="Thanks for reaching out! We will reply within 1 business day.",
        botId="B08ABC",
        isAutoresponse=True,
        metadata={"eventType": "autoresponder_replied"},
    )
    slack_customer = msg(
        text="Any news?",
        userId="U08D38QMGQ7",
        userTeamId="T0CUSTOMER",
        isExternal=True,
        user={"id": "9a1b-jane", "name": "Jane", "email": "jane@customer.example"},
    )
    assert classify(dashboard_reply, submitter_email=SUBMITTER) == Sender(
        "support", "sam@vendor.example"
    )
    assert classify(autoresponse, submitter_email=SUBMITTER) == "automated_message"
    assert classify(slack_customer, submitter_email=SUBMITTER) == Sender("customer", SUBMITTER)
