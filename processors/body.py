"""A message's Vitally body: its text as HTML, then its files, sanitized as a whole."""

from __future__ import annotations

from processors.files import files_html
from processors.html_policy import sanitize
from processors.mentions import names_of
from processors.mrkdwn import render
from schemas.events import Message


def message_body(message: Message, unthread_url: str | None = None) -> str | None:
    """The body, or None when the message has neither text nor files; a file without a
    public link links to ``unthread_url``, the conversation in Unthread."""
    text = message.text if message.text and message.text.strip() else None
    if text is None and not message.files:
        return None
    prose = render(text, mention_names(message)) if text else ""
    return sanitize(prose + files_html(message.files or [], unthread_url))


def mention_names(message: Message) -> dict[str, str]:
    """User ids the event itself names: its author and the teammate it was sent by, under
    their Unthread and Slack ids."""
    return names_of((message.sent_by_user, message.user))
