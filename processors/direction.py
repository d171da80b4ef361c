"""Which side sent a message: the customer, support, or nobody we sync (docs/interfaces.md).

The rules are applied in order and the first that matches wins:

1. ``isPrivateNote``: an internal note, not synced as a message.
2. ``isAutoresponse``, or ``metadata.eventType`` ``autoresponder_replied``,
   ``post_close_template_sent`` or ``email_explanation_sent``: automated, not synced.
3. ``metadata.eventType`` ``email_received``, ``widget_message_received``,
   ``microsoft_teams_message_received`` or ``slack_bot_dm_received`` (a customer's message
   that Unthread's bot relays into Slack): customer; email from ``user``.
4. ``botId``, or ``subtype`` ``bot_message`` (a Slack workflow, form or app), without
   ``sentByUserId``: automated.
5. ``sentByUserId`` or ``sentByUser`` (a teammate posting from the dashboard, Unthread's bot
   on their behalf), or ``metadata.eventType`` ``unthread_outbound``: support; email from
   ``sentByUser``, else ``user``.
6. ``isExternal`` true: customer; false: support; email from ``user``.
7. Otherwise customer when the sender's email equals the submitter's or shares its domain.

An email is read as Unthread's users and mail headers write it: ``jane@x.example`` or
``Jane Doe <jane@x.example>`` (the address is taken); anything else is no address.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache
from typing import Literal

from schemas.events import Message

Side = Literal["customer", "support"]
NotSynced = Literal["private_note", "automated_message"]

AUTOMATED_EVENT_TYPES = frozenset(
    {"autoresponder_replied", "post_close_template_sent", "email_explanation_sent"}
)
RELAYED_EVENT_TYPES = frozenset(
    {
        "email_received",
        "widget_message_received",
        "microsoft_teams_message_received",
        "slack_bot_dm_received",
    }
)


@dataclass(frozen=True)
class Sender:
    """Which side sent a message, and the email to look them up by. ``unreadable``: the
    message named an email that is no address (so no look-up can find anyone)."""

    side: Side
    email: str | None
    unreadable: bool = False


def not_synced(message: Message) -> NotSynced | None:
    """Why the message is never posted as it is (rules 1, 2 and 4), or None."""
    event_type = message.metadata.event_type if message.metadata else None
    if message.is_private_note:
        return "private_note"
    if message.is_autoresponse or event_type in AUTOMATED_EVENT_TYPES:
        return "automated_message"
    if event_type in RELAYED_EVENT_TYPES or event_type == "unthread_outbound":
        return None
    if (message.bot_id or message.subtype == "bot_message") and not message.sent_by_user_id:
        return "automated_message"
    return None


def classify(message: Message, *, submitter_email: str | None) -> Sender | NotSynced:
    skipped = not_synced(message)
    if skipped is not None:
        return skipped
    event_type = message.metadata.event_type if message.metadata else None
    user_raw = message.user.email if message.user else None
    user_email = normalise_email(user_raw)
    if event_type in RELAYED_EVENT_TYPES:
        return _sender("customer", user_raw)
    sent_by = message.sent_by_user.email if message.sent_by_user else None
    if message.sent_by_user_id or message.sent_by_user or event_type == "unthread_outbound":
        return _sender("support", sent_by if normalise_email(sent_by) else user_raw or sent_by)
    if message.is_external is not None:
        return _sender("customer" if message.is_external else "support", user_raw)
    side = _side_by_email(user_email, normalise_email(submitter_email))
    return _sender(side, user_raw)


def _sender(side: Side, raw: str | None) -> Sender:
    email = normalise_email(raw)
    return Sender(side, email, unreadable=email is None and bool(raw and raw.strip()))


def _side_by_email(sender: str | None, submitter: str | None) -> Side:
    if sender and submitter and (sender == submitter or _domain(sender) == _domain(submitter)):
        return "customer"
    return "support"


def _domain(email: str) -> str:
    return email.rpartition("@")[2]


def normalise_email(email: str | None) -> str | None:
    """The address in ``email`` as Vitally matches it (case and surrounding space carry no
    meaning there; ``Name <address>`` gives its address), or None when it holds none."""
    if email is None:
        return None
    return _normalised(email)


# The same few addresses recur on every event of a tenant: parsed once each.
@lru_cache(maxsize=4096)
def _normalised(email: str) -> str | None:
    _, address = parseaddr(email.strip())
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or any(c.isspace() for c in address):
        return None
    return address
