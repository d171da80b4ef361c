"""The allowlist every message body passes through last, whatever built it.

The renderers escape all they are given, so this changes nothing in what they produce; it is
there so a slip in a renderer cannot put a script, a handler or a ``javascript:`` link into
Vitally. Links keep ``href`` alone (no ``rel`` added) and only with the schemes we link.
"""

from __future__ import annotations

import nh3

from processors.mrkdwn_parse import LINK_SCHEMES

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
)
_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes={"a": {"href"}},
    url_schemes=LINK_SCHEMES,
    url_relative="deny",
    link_rel=None,
)


def sanitize(html: str) -> str:
    return _CLEANER.clean(html)
