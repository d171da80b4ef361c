"""Which side sent a message: the customer, support, or nobody we sync (docs/interfaces.md).

The rules are applied in order and the first that matches wins:

1. ``isPrivateNote``: an internal note, not synced.
2. ``isAutoresponse``, or ``botId`` with no ``sentByUserId``: automated, not synced.
3. ``sentByUserId`` or ``sentByUser``: support; email from ``sentByUser``, else ``user``.
4. ``isExternal`` true: customer; false: support; email from ``user``.
5. Otherwise customer when the sender's email equals the submitter's or shares its domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.events import Message

Side = Literal["customer", "support"]
NotSynced = Literal["private_note", "automated_message"]


@dataclass(frozen=True)
class Sender:
    """Which side sent a message, and the email to look them up by."""

    side: Side
    email: str | None


def classify(message: Message, *, submitter_email: str | None) -> Sender | NotSynced:
    if message.is_private_note:
        return "private_note"
    if message.is_autoresponse or (message.bot_id and not message.sent_by_user_id):
        return "automated_message"
    user_email = normalise_email(message.user.email if message.user else None)
    if message.sent_by_user_id or message.sent_by_user:
        sent_by = normalise_email(message.sent_by_user.email if message.sent_by_user else None)
        return Sender("support", sent_by or user_email)
    if message.is_external is not None:
        return Sender("customer" if message.is_external else "support", user_email)
    return Sender(_side_by_email(user_email, normalise_email(submitter_email)), user_email)


def _side_by_email(sender: str | None, submitter: str | None) -> Side:
    if sender and submitter and (sender == submitter or _domain(sender) == _domain(submitter)):
        return "customer"
    return "support"


def _domain(email: str) -> str:
    return email.rpartition("@")[2]


def normalise_email(email: str | None) -> str | None:
    """Vitally matches people by email; case and surrounding space carry no meaning there."""
    if email is None:
        return None
    email = email.strip().lower()
    return email if "@" in email else None
