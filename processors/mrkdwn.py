"""Slack mrkdwn (Unthread's message text) as the HTML Vitally stores, and as a plain subject.

:mod:`processors.mrkdwn_parse` reads the text into a tree; here each node is written out once,
its text escaped, so what the sender typed never becomes markup. Mentions read as names: a
user by the name the event gives for that id (``names``), else the mention's own label.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from processors.html_policy import sanitize
from processors.mrkdwn_parse import (
    Block,
    Code,
    CodeBlock,
    Inline,
    ItemList,
    Line,
    Link,
    Mention,
    Quote,
    Styled,
    Text,
    parse,
)

_SUBJECT_MAX = 80
_NO_NAMES: Mapping[str, str] = {}


def to_html(text: str, names: Mapping[str, str] = _NO_NAMES) -> str:
    """Render mrkdwn as sanitized HTML blocks; ``names`` maps user ids to display names."""
    return sanitize(render(text, names))


def render(text: str, names: Mapping[str, str] = _NO_NAMES) -> str:
    """The HTML before sanitizing, for a body that adds more blocks and sanitizes the whole."""
    return "".join(_block_html(block, names) for block in parse(text))


def to_plain(text: str, names: Mapping[str, str] = _NO_NAMES) -> str:
    """Text without markup or links' targets, whitespace collapsed (for subjects)."""
    words = " ".join(_line_plain(line, names) for block in parse(text) for line in _lines(block))
    return " ".join(words.split())


def subject_from(text: str, limit: int = _SUBJECT_MAX, names: Mapping[str, str] = _NO_NAMES) -> str:
    """Shorten to at most ``limit`` characters, at a word boundary, with an ellipsis."""
    plain = to_plain(text, names)
    if len(plain) <= limit:
        return plain
    cut = plain[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:-") + "…"


def _block_html(block: Block, names: Mapping[str, str]) -> str:
    if isinstance(block, CodeBlock):
        return f"<pre><code>{escape(block.text)}</code></pre>"
    if isinstance(block, ItemList):
        tag = "ol" if block.ordered else "ul"
        items = "".join(f"<li>{_line_html(item, names)}</li>" for item in block.items)
        return f"<{tag}>{items}</{tag}>"
    tag = "blockquote" if isinstance(block, Quote) else "p"
    return f"<{tag}>{'<br>'.join(_line_html(line, names) for line in block.lines)}</{tag}>"


def _line_html(line: Line, names: Mapping[str, str]) -> str:
    return "".join(_inline_html(node, names) for node in line)


def _inline_html(node: Inline, names: Mapping[str, str]) -> str:
    if isinstance(node, Styled):
        return f"<{node.tag}>{_line_html(node.children, names)}</{node.tag}>"
    if isinstance(node, Code):
        return f"<code>{escape(node.text)}</code>"
    if isinstance(node, Link):
        return f'<a href="{escape(node.url)}">{escape(node.label)}</a>'
    return escape(_inline_plain(node, names))


def _lines(block: Block) -> tuple[Line, ...]:
    if isinstance(block, CodeBlock):
        return ((Text(block.text),),)
    return block.items if isinstance(block, ItemList) else block.lines


def _line_plain(line: Line, names: Mapping[str, str]) -> str:
    return "".join(_inline_plain(node, names) for node in line)


def _inline_plain(node: Inline, names: Mapping[str, str]) -> str:
    if isinstance(node, Styled):
        return _line_plain(node.children, names)
    if isinstance(node, Link):
        return node.label
    if isinstance(node, Mention):
        return _mention(node, names)
    return node.text


def _mention(mention: Mention, names: Mapping[str, str]) -> str:
    if mention.kind == "channel":
        return f"#{(mention.label or 'channel').lstrip('#')}"
    if mention.kind == "special":
        # <!here>, <!channel>; <!subteam^S1|@team> and <!date^...|fallback> carry a label.
        return mention.label or f"@{mention.id.split('^')[0]}"
    name = names.get(mention.id) or mention.label or "user"
    return f"@{name.lstrip('@')}"
