"""What may reach Vitally as HTML, and the allowlist every message body passes through last.

The renderers escape all they are given, so the sanitizer changes nothing in what they produce;
it is there so a slip in a renderer cannot put a script, a handler or a ``javascript:`` link
into Vitally. Links keep ``href`` only with the schemes we link, and always carry
``rel="noopener noreferrer"`` (a page opened from Vitally gets no handle on it, nor its
address). Lists keep their numbering: ``type`` and ``start`` on ``ol``, ``value`` on ``li``.
"""

from __future__ import annotations

import re
from html import escape

import nh3

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
)
LINK_REL = "noopener noreferrer"
_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    attributes={"a": {"href"}, "ol": {"start", "type"}, "li": {"value"}},
    url_schemes=LINK_SCHEMES,
    url_relative="deny",
    link_rel=LINK_REL,
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def linkable(url: str) -> bool:
    """Whether the sanitizer keeps ``url`` as an href: one of our schemes, and a URL it can
    parse (``http://300.0/`` is not), so a renderer never leaves an ``<a>`` with no target."""
    scheme, colon, _ = url.partition(":")
    if not colon or scheme.lower() not in LINK_SCHEMES:
        return False
    return "href=" in _CLEANER.clean(f'<a href="{escape(html_text(url))}"></a>')


def anchor(url: str, label: str) -> str:
    """A link to ``url`` (already checked with :func:`linkable`) reading ``label``, both
    escaped here."""
    return f'<a href="{escape(url)}" rel="{LINK_REL}">{escape(label)}</a>'


def html_text(text: str) -> str:
    """Text as HTML can carry it: JSON lets a lone surrogate through but UTF-8 cannot encode
    one (U+FFFD instead), HTML drops NUL, and reads CR line ends as LF."""
    text = _SURROGATE.sub("\ufffd", text).replace("\x00", "")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sanitize(html: str) -> str:
    return _CLEANER.clean(html_text(html))
