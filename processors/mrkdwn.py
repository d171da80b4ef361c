"""Slack mrkdwn (Unthread's message text) as the HTML Vitally stores, and as a plain subject.

:mod:`processors.mrkdwn_parse` reads the text into a tree; here each node is written out once,
its text escaped, so what the sender typed never becomes markup. Mentions read as Slack shows
them: a user by the name the event gives for that id (``names``), else the mention's own label
(the enrichment writes Unthread's name there), else a neutral "@user", never a guess;
``@here``, ``@channel``, ``@everyone`` and ``#channel``. A numbered list shows the sender's
numbers: it starts where they started (``<ol start="3">``) and an item that skips ahead keeps
its own (``<li value="7">``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from html import escape

from processors.html_policy import anchor, sanitize
from processors.mrkdwn_parse import (
    Block,
    Code,
    CodeBlock,
    Inline,
    Item,
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
_BROADCASTS = frozenset({"here", "channel", "everyone"})


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
        return _list_html(block, names)
    tag = "blockquote" if isinstance(block, Quote) else "p"
    return f"<{tag}>{'<br>'.join(_line_html(line, names) for line in block.lines)}</{tag}>"


def _list_html(item_list: ItemList, names: Mapping[str, str]) -> str:
    if not item_list.ordered:
        return f"<ul>{''.join(_item_html(item, '', names) for item in item_list.items)}</ul>"
    attributes = "" if item_list.style == "1" else f' type="{item_list.style}"'
    first = item_list.items[0].number
    if first is not None and first != 1:
        attributes += f' start="{first}"'
    items, expected = [], first
    for item in item_list.items:
        # A browser numbers on from the previous item; only a jump needs saying.
        value = f' value="{item.number}"' if item.number != expected else ""
        items.append(_item_html(item, value, names))
        expected = (item.number or 0) + 1
    return f"<ol{attributes}>{''.join(items)}</ol>"


def _item_html(item: Item, attributes: str, names: Mapping[str, str]) -> str:
    nested = "".join(_list_html(child, names) for child in item.children)
    return f"<li{attributes}>{_line_html(item.line, names)}{nested}</li>"


def _line_html(line: Line, names: Mapping[str, str]) -> str:
    return "".join(_inline_html(node, names) for node in line)


def _inline_html(node: Inline, names: Mapping[str, str]) -> str:
    if isinstance(node, Styled):
        return f"<{node.tag}>{_line_html(node.children, names)}</{node.tag}>"
    if isinstance(node, Code):
        return f"<code>{escape(node.text)}</code>"
    if isinstance(node, Link):
        return anchor(node.url, node.label)
    return escape(_inline_plain(node, names))


def _lines(block: Block) -> Iterator[Line]:
    if isinstance(block, CodeBlock):
        yield (Text(block.text),)
    elif isinstance(block, ItemList):
        for item in block.items:
            yield item.line
            for child in item.children:
                yield from _lines(child)
    else:
        yield from block.lines


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
        name = mention.id.split("^")[0]
        if name in _BROADCASTS:
            return f"@{name}"  # Slack shows these as is, whatever label they carry
        # <!subteam^S1|@team> and <!date^...|fallback> carry what Slack shows as their label.
        return mention.label or f"@{name}"
    name = names.get(mention.id) or mention.label or "user"
    return f"@{name.lstrip('@')}"
