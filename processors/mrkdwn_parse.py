"""Slack mrkdwn as a small tree: blocks of lines of inline nodes.

Parsing comes before any output, so markup never lands on text that is already markup. The
atoms (code spans, ``<...>`` sequences, bare web addresses) are cut out first and are opaque:
``*``, ``_`` and ``~`` only ever pair up in the text between them, so a URL or code keeps its
characters whatever they are.

Slack escapes ``&``, ``<`` and ``>`` in what the sender typed as ``&amp;``, ``&lt;`` and
``&gt;`` (a literal ``<`` can then never open a ``<...>`` sequence). The atoms are found in
the escaped text, and only then is each piece of text, code, URL and label decoded, exactly
once: the renderer escapes it again for HTML, so nothing is escaped twice.

Blocks, in order: a ```` ``` ```` fence is a code block wherever it starts; the rest splits into
paragraphs on blank lines, and a paragraph's runs of quote (``> ``, as Slack sends it
``&gt; ``) and list lines become quotes and lists. List lines are bullets (``•``, ``◦``,
``▪``, ``-``, ``*``) or numbers (``3.``, ``3)``); indented deeper, they nest under the item
above, as Slack writes nested lists (its nested numbering ``a.`` and ``i.`` included). A
numbered item keeps its number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Literal, TypeAlias

from processors.emoji_codes import SHORTCODE, emojized, unicode_emoji
from processors.html_policy import html_text, linkable


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Code:
    text: str


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    label: str


@dataclass(frozen=True, slots=True)
class Mention:
    """``<@U1>`` (user), ``<#C1|name>`` (channel) or ``<!here>`` (special); id without sigil."""

    kind: Literal["user", "channel", "special"]
    id: str
    label: str | None


Tag: TypeAlias = Literal["strong", "em", "del"]


@dataclass(frozen=True, slots=True)
class Styled:
    tag: Tag
    children: tuple[Inline, ...]


Inline: TypeAlias = Text | Code | Link | Mention | Styled
Line: TypeAlias = tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Paragraph:
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Quote:
    lines: tuple[Line, ...]


ListStyle: TypeAlias = Literal["bullet", "1", "a", "i"]


@dataclass(frozen=True, slots=True)
class Item:
    """A list item: its line, its number as the sender wrote it (None for a bullet), and
    the lists nested under it."""

    line: Line
    number: int | None = None
    children: tuple[ItemList, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemList:
    """Bullets, or items numbered in digits, letters (``a``) or roman numerals (``i``)."""

    style: ListStyle
    items: tuple[Item, ...]

    @property
    def ordered(self) -> bool:
        return self.style != "bullet"


@dataclass(frozen=True, slots=True)
class CodeBlock:
    text: str


Block: TypeAlias = Paragraph | Quote | ItemList | CodeBlock
LineKind: TypeAlias = Literal["text", "quote", "list"]

_ANGLE = r"<(?P<target>[^<>|\s]+)(?:\|(?P<label>[^<>\n]*))?>"
# A <...> sequence is matched (and passed over) so that a fence cannot start inside its label.
_FENCE_OR_ANGLE = re.compile(rf"```(?P<fence>.+?)```|{_ANGLE}", re.S)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_QUOTE = re.compile(r"(?:>|&gt;)(?: |$)")
# Letters and roman numerals number only nested items: at the left margin "a. " and "I. "
# are more often prose than lists.
_LIST_ITEM = re.compile(
    r"(?P<indent>[ \t]*)"
    r"(?:(?P<bullet>[•◦▪▫‣⁃*-][\ufe0e\ufe0f]?)|(?P<number>\d{1,9})[.)]"
    r"|(?<=[ \t])(?P<letters>[a-z]|[ivxlc]{1,6})[.)])"
    r"[ \t]+(?=\S)"
)
_ENTITY = re.compile(r"&(amp|lt|gt);")
_DECODED = {"amp": "&", "lt": "<", "gt": ">"}
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
# Leftmost wins, so whichever atom starts first hides what looks like another inside it.
# A bare address stops at an escaped "<" or ">"; its trailing punctuation is cut afterwards.
_ATOM = re.compile(
    r"`(?P<code>[^`\n]+)`"
    rf"|{_ANGLE}"
    r"|(?P<bare>\bhttps?://(?:(?!&[lg]t;)[^\s<>`])+)"
    rf"|(?P<emoji>{SHORTCODE})",
    re.IGNORECASE,
)
# What ends a sentence or closes emphasis, not a URL ("see https://x.io.", "*https://x.io*").
_TRAILING = frozenset(".,;:!?'\"*_~")
_MARKS: dict[str, Tag] = {"*": "strong", "_": "em", "~": "del"}
_SIGILS: dict[str, Literal["user", "channel", "special"]] = {
    "@": "user",
    "#": "channel",
    "!": "special",
}


def parse(text: str) -> list[Block]:
    text = html_text(text)
    blocks: list[Block] = []
    start = 0
    for match in _FENCE_OR_ANGLE.finditer(text):
        if (code := match.group("fence")) is not None:
            blocks.extend(_prose(text[start : match.start()]))
            blocks.append(CodeBlock(decoded(code.strip("\n"))))
            start = match.end()
    blocks.extend(_prose(text[start:]))
    return blocks


def decoded(text: str) -> str:
    """Slack's ``&amp;``, ``&lt;`` and ``&gt;`` as the characters they stand for, once."""
    return _ENTITY.sub(lambda match: _DECODED[match.group(1)], text)


def _prose(text: str) -> Iterator[Block]:
    for paragraph in _BLANK_LINE.split(text):
        lines = [line for line in paragraph.split("\n") if line.strip()]
        for kind, run in groupby(lines, key=_kind):
            if kind == "list":
                yield from _lists([_entry(line) for line in run])
            elif kind == "quote":
                yield Quote(tuple(_inline(_QUOTE.sub("", line, count=1).strip()) for line in run))
            else:
                yield Paragraph(tuple(_inline(line.strip()) for line in run))


def _kind(line: str) -> LineKind:
    if _QUOTE.match(line):
        return "quote"
    return "list" if _LIST_ITEM.match(line) else "text"


@dataclass(frozen=True, slots=True)
class _Entry:
    indent: int
    marker: str  # the bullet, or the number as written ("3", "b", "iv")
    bullet: bool
    line: Line


def _entry(line: str) -> _Entry:
    found = _LIST_ITEM.match(line)
    assert found is not None  # noqa: S101 - only list lines are passed
    indent = len(found.group("indent").expandtabs(4))
    marker = found.group("bullet") or found.group("number") or found.group("letters")
    content = _inline(line[found.end() :].strip())
    return _Entry(indent, marker, found.group("bullet") is not None, content)


@dataclass
class _OpenList:
    indent: int
    style: ListStyle
    items: list[tuple[Line, int | None, list[_OpenList]]]
    siblings: list[_OpenList]  # the lists of the same parent, this one last


def _lists(entries: Sequence[_Entry]) -> list[ItemList]:
    """A run of list lines as lists: a deeper indent nests under the item above, a change of
    style at one level starts a new list there."""
    top: list[_OpenList] = []
    open_: list[_OpenList] = []
    for entry in entries:
        while open_ and entry.indent < open_[-1].indent:
            open_.pop()
        current = open_[-1] if open_ else None
        if current is not None and entry.indent > current.indent and current.items:
            siblings = current.items[-1][2]
        elif current is not None and _fits(current.style, entry):
            current.items.append((entry.line, _number(current.style, entry), []))
            continue
        else:
            siblings = current.siblings if current is not None else top
            if current is not None:
                open_.pop()
        style = _style(entry)
        opened = _OpenList(entry.indent, style, [(entry.line, _number(style, entry), [])], [])
        siblings.append(opened)
        opened.siblings = siblings
        open_.append(opened)
    return [_closed(item_list) for item_list in top]


def _closed(item_list: _OpenList) -> ItemList:
    items = tuple(
        Item(line, number, tuple(_closed(child) for child in children))
        for line, number, children in item_list.items
    )
    return ItemList(item_list.style, items)


def _style(entry: _Entry) -> ListStyle:
    if entry.bullet:
        return "bullet"
    if entry.marker.isdigit():
        return "1"
    # Slack numbers a second level a, b, c and a third i, ii, iii: "i" starts the latter.
    return "i" if entry.marker == "i" or len(entry.marker) > 1 else "a"


def _fits(style: ListStyle, entry: _Entry) -> bool:
    if entry.bullet or style == "bullet":
        return entry.bullet and style == "bullet"
    if style == "1":
        return entry.marker.isdigit()
    if style == "a":
        return len(entry.marker) == 1 and entry.marker.isalpha()
    return _roman(entry.marker) is not None


def _number(style: ListStyle, entry: _Entry) -> int | None:
    if style == "bullet":
        return None
    if style == "1":
        return int(entry.marker)
    if style == "a":
        return ord(entry.marker) - ord("a") + 1
    return _roman(entry.marker)


def _roman(numeral: str) -> int | None:
    if not numeral or any(char not in _ROMAN for char in numeral):
        return None
    values = [_ROMAN[char] for char in numeral]
    return sum(-v if v < nxt else v for v, nxt in zip(values, [*values[1:], 0], strict=True))


def _inline(line: str) -> Line:
    return _emphasis(list(_atoms(line)))


# One element per character of plain text, or a whole atom: the stream emphasis pairs over.
_Element: TypeAlias = str | Inline


def _atoms(line: str) -> Iterator[_Element]:
    start = pos = 0
    while (match := _ATOM.search(line, pos)) is not None:
        atom, end = _atom(match)
        if atom is None:
            # A custom emoji (or "12:30:45"): its characters stay text, and may start a URL.
            pos = match.start() + 1
            continue
        yield from decoded(line[start : match.start()])
        yield atom
        start = pos = end
    yield from decoded(line[start:])


def _atom(match: re.Match[str]) -> tuple[Inline | None, int]:
    """The node for an atom and where it ends; None for a shortcode no emoji is drawn for."""
    if (code := match.group("code")) is not None:
        return Code(decoded(code)), match.end()
    if (bare := match.group("bare")) is not None:
        bare = bare[: _url_length(bare)]
        url = decoded(bare)
        return (Link(url, url) if linkable(url) else Text(url)), match.start() + len(bare)
    if (shortcode := match.group("emoji")) is not None:
        drawn = unicode_emoji(shortcode)
        return (Text(drawn) if drawn else None), match.end()
    return _angle(match), match.end()


def _url_length(url: str) -> int:
    """How much of a bare address is the address: trailing punctuation is the sentence's, and
    a closing parenthesis is the URL's only when it closes one the URL opened."""
    end = len(url)
    while end and not url.endswith("&amp;", 0, end):
        char = url[end - 1]
        if char in _TRAILING or (char == ")" and url.count("(", 0, end) < url.count(")", 0, end)):
            end -= 1
        else:
            break
    return end


def _angle(match: re.Match[str]) -> Inline:
    target, label = decoded(match.group("target")), match.group("label")
    label = decoded(label) if label else None
    if kind := _SIGILS.get(target[0]):
        return Mention(kind, target[1:], label)
    if linkable(target):
        return Link(target, emojized(label) if label else target)
    if ":" in target:
        # Another scheme (javascript:, data:, ...): never a link, but what it said stays.
        return Text(label or target)
    return Text(decoded(match.group(0)))  # not a Slack sequence: the sender typed "<...>"


def _emphasis(stream: Sequence[_Element]) -> Line:
    out: list[_Element] = []
    i = 0
    while i < len(stream):
        if span := _span(stream, i):
            tag, close = span
            out.append(Styled(tag, _emphasis(stream[i + 1 : close])))
            i = close + 1
        else:
            out.append(stream[i])
            i += 1
    return _joined(out)


def _joined(elements: Sequence[_Element]) -> Line:
    """The stream as nodes: each run of characters as one Text."""
    nodes: list[Inline] = []
    for is_char, run in groupby(elements, key=lambda element: isinstance(element, str)):
        if is_char:
            nodes.append(Text("".join(char for char in run if isinstance(char, str))))
        else:
            nodes.extend(node for node in run if not isinstance(node, str))
    return tuple(nodes)


def _span(stream: Sequence[_Element], i: int) -> tuple[Tag, int] | None:
    """The emphasis a mark at ``i`` opens and where it closes: at the next same mark, if both
    sit at word boundaries."""
    mark = stream[i]
    if not isinstance(mark, str) or mark not in _MARKS or i + 1 >= len(stream):
        return None
    if _wordlike(stream, i - 1, mark) or _space(stream[i + 1]) or stream[i + 1] == mark:
        return None
    close = next((k for k in range(i + 2, len(stream)) if stream[k] == mark), None)
    if close is None or _space(stream[close - 1]) or _wordlike(stream, close + 1, mark):
        return None
    return _MARKS[mark], close


def _wordlike(stream: Sequence[_Element], k: int, mark: str) -> bool:
    # A mark touching a word ("snake_case", "2*3") or its own twin ("**") is not emphasis.
    if not 0 <= k < len(stream):
        return False
    element = stream[k]
    return isinstance(element, str) and (element.isalnum() or element in ("_", mark))


def _space(element: _Element) -> bool:
    return isinstance(element, str) and element.isspace()
