"""What every HTML body we send must be, checked on the parsed HTML (so escaped text that merely
mentions "onerror=" or "javascript:" is not mistaken for markup)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Spelled out here rather than read from processors.html_policy, so widening the policy there
# is a test failure, not a silent change.
TAGS = {"p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
SCHEMES = {"http", "https", "mailto"}
# Every attribute a tag may carry; an href is checked for its scheme, the others for their value.
ATTRIBUTES = {("a", "href"), ("a", "rel"), ("ol", "start"), ("ol", "type"), ("li", "value")}
_ATTRIBUTE_VALUES = {
    "rel": r"noopener noreferrer",
    "type": r"[ai]",
    "start": r"\d+",
    "value": r"\d+",
}
_BLOCKS = {"p", "pre", "blockquote", "ul", "ol"}
_VOID = {"br"}


class HtmlEvents(HTMLParser):
    """Start and end tags with their attributes, and text, as the parser reads them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[str, str, tuple[tuple[str, str | None], ...]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, tuple(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, tuple(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag, ()))

    def handle_data(self, data: str) -> None:
        if self.events and self.events[-1][0] == "text":
            data = self.events.pop()[1] + data
        self.events.append(("text", data, ()))

    def hrefs(self) -> list[str]:
        return [
            value or "" for _, _, attrs in self.events for name, value in attrs if name == "href"
        ]


def assert_safe_and_valid(html: str) -> None:
    """Only allowlisted tags, properly nested, no block in a paragraph, no attribute but an
    http(s)/mailto href, the links' rel and the lists' numbering, no script."""
    assert "<script" not in html.lower()
    open_tags: list[str] = []
    for kind, tag, attrs in HtmlEvents(html).events:
        if kind == "end":
            assert open_tags and open_tags.pop() == tag, f"</{tag}> closes nothing in {html!r}"
        if kind != "start":
            continue
        assert tag in TAGS
        assert tag not in _BLOCKS or "p" not in open_tags, f"<{tag}> inside <p> in {html!r}"
        for name, value in attrs:
            assert (tag, name) in ATTRIBUTES, f"{tag} {name}={value!r} in {html!r}"
            if name != "href":
                assert re.fullmatch(_ATTRIBUTE_VALUES[name], value or ""), f"{name}={value!r}"
                continue
            scheme = (value or "").partition(":")[0].lower()
            assert scheme in SCHEMES, value
        if tag not in _VOID:
            open_tags.append(tag)
    assert open_tags == []
