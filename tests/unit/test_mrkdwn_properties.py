"""Properties of the rendered HTML over any text, and over text built from mrkdwn's pieces.

Whatever the sender typed: only allowlisted tags, no event handlers, no link but http(s) and
mailto, blocks never inside a paragraph; a link the sender wrote keeps its URL exactly; what
Slack escaped reads as typed (decoded exactly once); a numbered list shows the sender's
numbers, and a nested list nests as deep as the sender indented it.
"""

from __future__ import annotations

from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.mrkdwn import render, to_html
from tests.unit.html_checks import HtmlEvents, assert_safe_and_valid

# RFC 3986's unreserved and reserved characters, and "%": what a URL can hold unescaped.
_URL_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=%"
_HOST_LABEL = r"[a-z]([a-z0-9-]{0,6}[a-z0-9])?"
_HOST = rf"{_HOST_LABEL}(\.{_HOST_LABEL}){{0,2}}"
_PIECES = [
    "*", "_", "~", "`", "```", "\n", "\n\n", " ", "> ", "• ", "- ", "* ", "1. ", "2) ",
    "<", ">", "|", "&", '"', "'", "<!here>", "<!channel>", "<@U1>", "<@U2|jane>", "<#C1|dev>",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)",
    "<javascript:alert(1)|x>", "<JaVaScRiPt:alert(1)>", "<data:text/html,<b>x</b>|d>",
    "<vbscript:msgbox(1)>", '" onmouseover="alert(1)', "https://", "snake_case", "2*3*4",
    "&amp;", "&lt;", "&gt;", "&gt; ", "&amp;lt;", "3. ", "    ◦ ", "\ta. ", "    ii. ", ":fire:",
    ":custom_one:", ":+1::skin-tone-3:", "(", ")", "https://x.io/a_(b)", "<!everyone>",
]  # fmt: skip


def _any_case(word: str) -> st.SearchStrategy[str]:
    return st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in word)).map("".join)


_web = st.tuples(
    st.sampled_from(["http", "https"]).flatmap(_any_case),
    # A host a URL parser accepts: "http://300.0/" is URL-safe characters but no URL (no IPv4
    # address), so it is rightly not linked at all.
    st.from_regex(_HOST, fullmatch=True),
    st.text(_URL_SAFE, max_size=30),
).map(lambda parts: f"{parts[0]}://{parts[1]}/{parts[2]}")
_mail = st.tuples(_any_case("mailto"), st.text("abcxyz._+-", min_size=1, max_size=8)).map(
    lambda parts: f"{parts[0]}:{parts[1]}@customer.example"
)
URLS = st.one_of(_web, _mail)
# A label is one line, and CR ends a line as LF does.
LABELS = st.text(st.characters(exclude_characters="<>|\n\r"), max_size=15)


def slack_escaped(text: str) -> str:
    """``text`` as Slack sends what the sender typed: ``&``, ``<`` and ``>`` as entities."""
    return escape(text, quote=False)


@st.composite
def links(draw: st.DrawFn) -> tuple[str, str]:
    """A Slack link as the sender's text (escaped as Slack escapes it), and its URL."""
    url = draw(URLS)
    label = draw(st.none() | LABELS)
    target = slack_escaped(url)
    return (f"<{target}>" if label is None else f"<{target}|{slack_escaped(label)}>"), url


MRKDWN = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text(max_size=8), links().map(lambda link: link[0])),
    max_size=25,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_renders_safe_valid_html(text: str) -> None:
    assert_safe_and_valid(to_html(text))


@settings(max_examples=500, deadline=None)
@given(MRKDWN)
def test_mrkdwn_pieces_render_safe_valid_html(text: str) -> None:
    assert_safe_and_valid(to_html(text))


@settings(max_examples=300, deadline=None)
@given(MRKDWN)
def test_the_sanitizer_finds_nothing_to_remove(text: str) -> None:
    # The renderer is safe on its own; nh3 is the backstop, not what makes it so.
    assert HtmlEvents(to_html(text)).events == HtmlEvents(render(text)).events


# Code spans and fences legitimately hide a link; every other piece may surround one.
_AROUND_LINKS = st.lists(
    st.one_of(
        st.sampled_from([p for p in _PIECES if "`" not in p]),
        st.text(st.characters(exclude_characters="`"), max_size=8),
    ),
    max_size=6,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(_AROUND_LINKS, links()), min_size=1, max_size=4), _AROUND_LINKS)
def test_every_link_keeps_its_url_byte_for_byte(
    parts: list[tuple[str, tuple[str, str]]], tail: str
) -> None:
    text = "".join(before + link for before, (link, _) in parts) + tail
    hrefs = HtmlEvents(to_html(text)).hrefs()
    for _, (_, url) in parts:
        assert url in hrefs, f"{url!r} lost from {text!r}: {hrefs}"


# Text with nothing mrkdwn reads as markup, but every character Slack escapes, and what looks
# like an entity already: the sender may type "&amp;" meaning those five characters.
_TYPED = st.lists(
    st.sampled_from([*"ab &<>;#", "&amp;", "&lt;", "&gt;", "amp;", "lt;"]), max_size=40
).map(lambda pieces: "x" + "".join(pieces))


@settings(max_examples=300, deadline=None)
@given(_TYPED)
def test_what_slack_escaped_reads_as_typed(text: str) -> None:
    html = to_html(slack_escaped(text))
    assert html == f"<p>{escape(text.strip(), quote=False)}</p>"
    shown = [data for kind, data, _ in HtmlEvents(html).events if kind == "text"]
    assert shown == [text.strip()]


@settings(max_examples=500, deadline=None)
@given(MRKDWN)
def test_nothing_is_escaped_twice(text: str) -> None:
    # "&amp;amp;" shows as "&amp;": only text that said so may render it.
    assert "&amp;amp;" not in to_html(text) or "&amp;amp;" in text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=8))
def test_a_numbered_list_shows_the_senders_numbers(numbers: list[int]) -> None:
    html = to_html("\n".join(f"{number}. item {i}" for i, number in enumerate(numbers)))
    assert_safe_and_valid(html)
    assert _shown_numbers(html) == numbers


def _shown_numbers(html: str) -> list[int]:
    """The numbers a browser shows for a single ordered list's items."""
    shown: list[int] = []
    following = 1
    for kind, tag, attrs in HtmlEvents(html).events:
        values = {name: int(value or 0) for name, value in attrs}
        if kind == "start" and tag == "ol":
            following = values.get("start", 1)
        elif kind == "start" and tag == "li":
            shown.append(values.get("value", following))
            following = shown[-1] + 1
    return shown


@st.composite
def _depths(draw: st.DrawFn) -> list[int]:
    """Indent levels of bullet lines: the first at 0, each at most one deeper than the last."""
    depths = [0]
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        depths.append(draw(st.integers(min_value=0, max_value=depths[-1] + 1)))
    return depths


@settings(max_examples=300, deadline=None)
@given(_depths(), st.sampled_from(["•", "◦", "-", "*"]))
def test_a_nested_list_nests_as_indented(depths: list[int], bullet: str) -> None:
    text = "\n".join(f"{'    ' * depth}{bullet} item {i}" for i, depth in enumerate(depths))
    html = to_html(text)
    assert_safe_and_valid(html)
    nesting, found = 0, []
    for kind, tag, _ in HtmlEvents(html).events:
        if tag == "ul":
            nesting += 1 if kind == "start" else -1
        elif kind == "start" and tag == "li":
            found.append(nesting - 1)
    assert found == depths
