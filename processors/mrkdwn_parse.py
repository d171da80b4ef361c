"""Slack mrkdwn as a small tree: blocks of lines of inline nodes.

Parsing comes before any output, so markup never lands on text that is already markup. The
atoms (code spans, ``<...>`` sequences, bare web addresses) are cut out first and are opaque:
``*``, ``_`` and ``~`` only ever pair up in the text between them, so a URL or code keeps its
characters whatever they are.

Blocks, in order: a ```` ``` ```` fence is a code block wherever it starts; the rest splits into
paragraphs on blank lines, and a paragraph's runs of quote (``> ``), bullet (``•``, ``-``,
``*``) and numbered (``1.``, ``1)``) lines become quotes and lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Literal, TypeAlias

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


@dataclass(frozen=True, slots=True)
class ItemList:
    ordered: bool
    items: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class CodeBlock:
    text: str


Block: TypeAlias = Paragraph | Quote | ItemList | CodeBlock
LineKind: TypeAlias = Literal["text", "quote", "bullet", "number"]

_ANGLE = r"<(?P<target>[^<>|\s]+)(?:\|(?P<label>[^<>\n]*))?>"
# A <...> sequence is matched (and passed over) so that a fence cannot start inside its label.
_FENCE_OR_ANGLE = re.compile(rf"```(?P<fence>.+?)```|{_ANGLE}", re.S)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_LINE_KINDS: tuple[tuple[LineKind, re.Pattern[str]], ...] = (
    ("quote", re.compile(r">(?: |$)")),
    ("bullet", re.compile(r"[ \t]*[•*-][ \t]+(?=\S)")),
    ("number", re.compile(r"[ \t]*\d{1,9}[.)][ \t]+(?=\S)")),
)
# Leftmost wins, so whichever atom starts first hides what looks like another inside it.
# A bare address ends before trailing punctuation or emphasis marks ("see https://x.io.").
_ATOM = re.compile(
    r"`(?P<code>[^`\n]+)`"
    rf"|{_ANGLE}"
    r"|(?P<bare>\bhttps?://[^\s<>`]*[^\s<>`.,;:!?)\]'\"*_~])",
    re.IGNORECASE,
)
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
            blocks.append(CodeBlock(code.strip("\n")))
            start = match.end()
    blocks.extend(_prose(text[start:]))
    return blocks


def _prose(text: str) -> Iterator[Block]:
    for paragraph in _BLANK_LINE.split(text):
        lines = [line for line in paragraph.split("\n") if line.strip()]
        run: list[Line] = []
        run_kind: LineKind = "text"
        for kind, line in map(_classify, lines):
            if run and kind != run_kind:
                yield _block(run_kind, run)
                run = []
            run_kind = kind
            run.append(_inline(line.strip()))
        if run:
            yield _block(run_kind, run)


def _classify(line: str) -> tuple[LineKind, str]:
    for kind, marker in _LINE_KINDS:
        if found := marker.match(line):
            return kind, line[found.end() :]
    return "text", line


def _block(kind: LineKind, lines: list[Line]) -> Block:
    if kind == "quote":
        return Quote(tuple(lines))
    if kind == "text":
        return Paragraph(tuple(lines))
    return ItemList(kind == "number", tuple(lines))


def _inline(line: str) -> Line:
    return _emphasis(list(_atoms(line)))


# One element per character of plain text, or a whole atom: the stream emphasis pairs over.
_Element: TypeAlias = str | Inline


def _atoms(line: str) -> Iterator[_Element]:
    start = 0
    for match in _ATOM.finditer(line):
        yield from line[start : match.start()]
        yield _atom(match)
        start = match.end()
    yield from line[start:]


def _atom(match: re.Match[str]) -> Inline:
    if (code := match.group("code")) is not None:
        return Code(code)
    if (bare := match.group("bare")) is not None:
        return Link(bare, bare) if linkable(bare) else Text(bare)
    target, label = match.group("target"), match.group("label") or None
    if kind := _SIGILS.get(target[0]):
        return Mention(kind, target[1:], label)
    if linkable(target):
        return Link(target, label or target)
    if ":" in target:
        # Another scheme (javascript:, data:, ...): never a link, but what it said stays.
        return Text(label or target)
    return Text(match.group(0))  # not a Slack sequence: the sender typed "<...>"


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
