"""Slack mrkdwn to the HTML Vitally stores: nothing the sender typed becomes markup."""

from __future__ import annotations

import re

import pytest

from processors.mrkdwn import subject_from, to_html, to_plain

TAG = re.compile(r"<\s*/?\s*([a-zA-Z]+)")
OURS = {"p", "br", "a", "strong", "em", "s", "code", "pre", "blockquote"}


def tags(html: str) -> set[str]:
    return {name.lower() for name in TAG.findall(html)}


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "</p><iframe src='https://evil.example'></iframe>",
        '<a href="javascript:alert(1)">click</a>',
        "*<b>bold</b>*",
        "`<script>`",
        "```<style>body{}</style>```",
        "> <svg onload=alert(1)>",
        "<https://ok.example|<script>x</script>>",
        '<https://x.example/"onmouseover="alert(1)|a>',
    ],
)
def test_no_tag_injection(text: str) -> None:
    html = to_html(text)
    assert tags(html) <= OURS
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    # Every attribute we emit is a quoted href with no raw quote inside it.
    for attributes in re.findall(r"<a ([^>]*)>", html):
        assert re.fullmatch(r'href="[^"<>]*"', attributes)


def test_plain_text_is_escaped_in_a_paragraph() -> None:
    assert to_html("  1 < 2 & 3 > 2 \"q\" 'a'  ") == (
        "<p>1 &lt; 2 &amp; 3 &gt; 2 &quot;q&quot; &#x27;a&#x27;</p>"
    )


def test_paragraphs_and_line_breaks() -> None:
    assert to_html("one\ntwo\n\n\nthree") == "<p>one<br>two</p><p>three</p>"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<https://app.example/x|this link>", '<a href="https://app.example/x">this link</a>'),
        ("<http://app.example/x>", '<a href="http://app.example/x">http://app.example/x</a>'),
        (
            "<mailto:jane@customer.example|mail Jane>",
            '<a href="mailto:jane@customer.example">mail Jane</a>',
        ),
    ],
)
def test_links_with_safe_schemes(text: str, html: str) -> None:
    assert to_html(text) == f"<p>{html}</p>"


def test_link_with_a_query_string() -> None:
    html = to_html("see <https://app.example/x?a=1&b=2|the report>")
    assert html == '<p>see <a href="https://app.example/x?a=1&amp;b=2">the report</a></p>'


def test_link_label_with_an_ampersand() -> None:
    assert to_html("<https://app.example/qa|Q&A>") == (
        '<p><a href="https://app.example/qa">Q&amp;A</a></p>'
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<javascript:alert(1)|click me>", "click me"),
        ("<javascript:alert(1)>", "javascript:alert(1)"),
        ("<data:text/html;base64,PHNjcmlwdD4=|open>", "open"),
        ("<vbscript:msgbox(1)|x>", "x"),
        ("<file:///etc/passwd|f>", "f"),
    ],
)
def test_other_schemes_lose_the_link_but_keep_the_text(text: str, shown: str) -> None:
    html = to_html(text)
    assert "<a" not in html
    assert html == f"<p>{shown}</p>"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("hi <@U123>", "<p>hi @U123</p>"),
        ("hi <@U123|jane>", "<p>hi jane</p>"),
        ("in <#C07ABC|support>", "<p>in support</p>"),
        ("<!here> look", "<p>!here look</p>"),
    ],
)
def test_mentions_become_their_readable_part(text: str, html: str) -> None:
    assert to_html(text) == html


def test_angle_brackets_that_are_not_slack_sequences_stay_text() -> None:
    assert to_html("a <b> c") == "<p>a &lt;b&gt; c</p>"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*bold*", "<strong>bold</strong>"),
        ("_italic_", "<em>italic</em>"),
        ("~gone~", "<s>gone</s>"),
        ("`x = 1`", "<code>x = 1</code>"),
        ("a *b* _c_ ~d~ e", "a <strong>b</strong> <em>c</em> <s>d</s> e"),
        ("snake_case_name", "snake_case_name"),  # underscores inside a word are not italics
        ("2*3*4", "2*3*4"),
        ("* not bold *", "* not bold *"),
    ],
)
def test_inline_formatting(text: str, html: str) -> None:
    assert to_html(text) == f"<p>{html}</p>"


def test_code_block_is_verbatim() -> None:
    html = to_html("before\n```\nif a < b:\n    *x* = _y_\n\n\nend\n```")
    assert html == ("<p>before<br><pre><code>if a &lt; b:\n    *x* = _y_\n\n\nend</code></pre></p>")


def test_quote() -> None:
    assert to_html("> first\n> second") == "<p><blockquote>first<br>second</blockquote></p>"


def test_link_inside_bold() -> None:
    assert to_html("*see <https://a.example|docs>*") == (
        '<p><strong>see <a href="https://a.example">docs</a></strong></p>'
    )


def test_to_plain_strips_markup_and_link_targets() -> None:
    text = "Hi, *export* fails with <https://app.example/x|this link>\n\n  and `more`"
    assert to_plain(text) == "Hi, export fails with this link and more"


def test_short_subject_is_kept_whole() -> None:
    assert subject_from("CSV export fails") == "CSV export fails"


def test_long_subject_is_cut_at_a_word_boundary() -> None:
    words = ["export"] + ["word%02d" % i for i in range(30)]
    text = " ".join(words)
    subject = subject_from(text)
    assert len(subject) <= 80
    assert subject.endswith("…")
    kept = subject[:-1]
    assert text.startswith(kept)
    assert text[len(kept)] == " "  # the cut falls between words
    assert kept.split() == words[: len(kept.split())]


def test_subject_without_spaces_is_cut_hard() -> None:
    subject = subject_from("x" * 200)
    assert subject == "x" * 79 + "…"


def test_subject_limit_and_trailing_punctuation() -> None:
    assert subject_from("alpha beta, gamma delta, epsilon", limit=20) == "alpha beta, gamma…"
    assert subject_from("alpha beta, gamma, delta", limit=18) == "alpha beta…"
    assert subject_from("exactly twenty chars", limit=20) == "exactly twenty chars"
