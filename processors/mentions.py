"""Names for the people a message mentions, when the event itself does not give them.

Slack writes a mention as ``<@U07AGENT>``. The renderer names it from the event's people
(:func:`processors.body.mention_names`), else from the mention's own label
(``<@U07AGENT|Jane Doe>``, Slack's labelled form). For an id neither names, the enrichment
asks the tenant's Unthread users by Slack id and writes the name into the text as that label
(:func:`labelled`). Without an Unthread key, or for an id Unthread does not know, the mention
stays as it was and reads as a neutral "@user": a name is never guessed. A look-up that fails
(Unthread down) is handled like the sender's: the message is retried or parked, not posted
with a name missing that Unthread could give. Mentions in code are what the sender typed as
code and are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape

# At most this many ids are looked up per message: a pasted roster must not cost a call each.
MAX_LOOKUPS = 10
# Code first, so that a mention inside code is passed over with it.
_CODE_OR_MENTION = re.compile(r"```.+?```|`[^`\n]+`|<@(?P<id>[UW][A-Z0-9]+)>", re.S)


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
