"""The way back from Vitally to Unthread: a tenant's URL template for one conversation.

A template is an http(s) URL with placeholders in braces, filled in per conversation:

``{conversationId}``  the Unthread conversation id (Vitally's ``externalId``), always known
``{friendlyId}``      the ticket number Unthread shows; a template that needs it gives no link
                      for a conversation whose events never said it

Values are percent-encoded, so an id can never change the URL's shape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from processors.html_policy import linkable
from schemas.vitally import TraitValue

PLACEHOLDERS = ("conversationId", "friendlyId")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_EXAMPLE = {"conversationId": "26884dc8-0000-4000-8000-000000000001", "friendlyId": "123"}


def conversation_url(
    template: str, conversation_id: str, friendly_id: int | str | None = None
) -> str | None:
    """The template filled in for one conversation, or None when a value it needs is unknown."""
    values = {"conversationId": conversation_id, "friendlyId": friendly_id}
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = values.get(match.group(1))
        if value is None or value == "":
            missing = True
            return ""
        return quote(str(value), safe="")

    url = _PLACEHOLDER.sub(fill, template)
    return None if missing else url


def shown_friendly_id(traits: Mapping[str, TraitValue] | None) -> int | str | None:
    """The ticket number a conversation's stored traits show, if any."""
    friendly_id = (traits or {}).get("unthreadFriendlyId")
    return friendly_id if isinstance(friendly_id, int | str) else None


def template_problem(template: str) -> str | None:
    """What is wrong with a template a tenant gave, or None when it makes links."""
    names = _PLACEHOLDER.findall(template)
    unknown = sorted(set(names) - set(PLACEHOLDERS))
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}}: use {{conversationId}} or {{friendlyId}}"
    if not names:
        return "name the conversation with {conversationId} or {friendlyId}"
    example = _PLACEHOLDER.sub(lambda match: _EXAMPLE[match.group(1)], template)
    if not re.match(r"https?://", example, re.IGNORECASE) or not linkable(example):
        return "must be an http(s) URL"
    if any(char in example for char in "{} \t\r\n\"'<>"):
        return "must be an http(s) URL"
    return None
