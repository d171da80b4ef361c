"""Names for the people a message mentions, when the event itself does not give them.

Slack writes a mention as ``<@U07AGENT>``. The renderer names it from the message's author
and sender (:func:`processors.body.mention_names`), else from the mention's own label
(``<@U07AGENT|Jane Doe>``, Slack's labelled form). The enrichment writes that label
(:func:`labelled`) for the conversation's submitter and assignee (in its initial message),
and, for an id nobody in the event names, with the name of the tenant's Unthread user of that
Slack id. Without an Unthread key, or for an id Unthread does not know, the mention stays as
it was and reads as a neutral "@user": a name is never guessed. A look-up that fails
(Unthread down) is handled like the sender's: the message is retried or parked, not posted
with a name missing that Unthread could give. Mentions in code are what the sender typed as
code and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from html import escape

from schemas.events import Person

# At most this many ids are looked up per message: a pasted roster must not cost a call each.
MAX_LOOKUPS = 10
# Code first, so that a mention inside code is passed over with it.
_CODE_OR_MENTION = re.compile(r"```.+?```|`[^`\n]+`|<@(?P<id>[UW][A-Z0-9]+)>", re.S)


NO_NAMES: Mapping[str, str] = {}


def names_of(people: Iterable[Person | None]) -> dict[str, str]:
    """Names of the given people, under their Unthread and Slack ids (a later person's name
    wins for an id two share)."""
    names: dict[str, str] = {}
    for person in people:
        if person is not None and person.name:
            names.update({key: person.name for key in (person.id, person.slack_id) if key})
    return names


def unnamed(text: str, names: Mapping[str, str]) -> list[str]:
    """The ids of unlabelled mentions outside code that ``names`` does not name, in order,
    each once, at most :data:`MAX_LOOKUPS`."""
    ids = (match.group("id") for match in _CODE_OR_MENTION.finditer(text))
    wanted = dict.fromkeys(user_id for user_id in ids if user_id and user_id not in names)
    return list(wanted)[:MAX_LOOKUPS]


def labelled(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each unlabelled mention outside code that ``names`` names labelled with
    that name, escaped as Slack escapes text (the renderer decodes it once)."""

    def label(match: re.Match[str]) -> str:
        user_id = match.group("id")
        name = names.get(user_id) if user_id else None
        if not name:
            return match.group(0)
        shown = " ".join(escape(name, quote=False).replace("|", "/").split())
        return f"<@{user_id}|{shown}>"

    return _CODE_OR_MENTION.sub(label, text)
