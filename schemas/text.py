"""Strings from outside made safe to keep, send and serialise.

JSON may carry a lone surrogate escape (``"\\ud800"``): valid JSON and valid UTF-8 bytes, yet
the decoded string cannot be encoded back to UTF-8, so every later step that writes it (an
audit record, a Vitally body, a log line) would fail. Producers that cut a string between the
two halves of an emoji send exactly that. :func:`scrub_json` replaces each lone surrogate with
U+FFFD, the character a browser shows for a broken one, once, when an event is parsed
(:mod:`schemas.events`). Identifiers are then refused if they hold U+FFFD
(:data:`IDENTIFIER_PATTERN`): two different broken ids must not become one.

:func:`bounded` cuts a string to a length and says so at its end, for the fields of records we
write whose source has no bound of its own (an audit record of a record with a huge key).
"""

from __future__ import annotations

import re
from typing import Any, Final

_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# A JSON text can hold a lone surrogate only as a \uD800-\uDFFF escape: raw bytes that would
# decode to one are invalid UTF-8 and fail before this. Most records hold none: no walk then.
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")
REPLACEMENT: Final = "\ufffd"
# Not empty, no U+FFFD (a replaced surrogate), no control characters.
IDENTIFIER_PATTERN: Final = r"^[^\ufffd\x00-\x1f\x7f]+$"
TRUNCATED_MARKER: Final = "...[truncated]"


def scrub(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD."""
    return _LONE_SURROGATE.sub(REPLACEMENT, text)


def may_hold_surrogates(json_text: str) -> bool:
    return _SURROGATE_ESCAPE.search(json_text) is not None


def scrub_json(value: Any) -> Any:
    """A decoded JSON value with lone surrogates replaced in every string, keys included.

    Iterative: a value nested as deep as the decoder allows must not exhaust the stack here.
    """
    if isinstance(value, str):
        return scrub(value)
    if not isinstance(value, dict | list):
        return value
    root: list[Any] = [value]
    pending: list[tuple[Any, Any, Any]] = [(root, 0, value)]
    while pending:
        parent, slot, node = pending.pop()
        if isinstance(node, dict):
            copy: dict[str, Any] = {}
            for k, v in node.items():
                copy[scrub(k)] = v
                pending.append((copy, scrub(k), v))
            parent[slot] = copy
        elif isinstance(node, list):
            items = list(node)
            parent[slot] = items
            pending.extend((items, i, v) for i, v in enumerate(items))
        elif isinstance(node, str):
            parent[slot] = scrub(node)
    return root[0]


def bounded(text: str, max_chars: int) -> str:
    """``text`` if it has at most ``max_chars`` characters, else its start and
    :data:`TRUNCATED_MARKER`, ``max_chars`` characters in all."""
    if len(text) <= max_chars:
        return text
    return text[: max_chars - len(TRUNCATED_MARKER)] + TRUNCATED_MARKER
