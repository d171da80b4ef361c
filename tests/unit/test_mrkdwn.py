"""Slack mrkdwn to the HTML Vitally stores: nothing the sender typed becomes markup."""

from __future__ import annotations

import re

import pytest

from processors.mrkdwn import subject_from, to_html, to_plain

TAG = re.compile(r"<\s*/?\s*([a-zA-Z]+)")
OURS = {"p", "br", "a", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li"}


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
    assert to_html("  1 < 2 & 3 > 2 \"q\" 'a'  ") == "<p>1 &lt; 2 &amp; 3 &gt; 2 \"q\" 'a'</p>"


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
        ("hi <@U123>", "<p>hi @Jane Doe</p>"),
        ("hi <@U123|jane>", "<p>hi @Jane Doe</p>"),
        ("hi <@U999|joe>", "<p>hi @joe</p>"),
        ("hi <@U999>", "<p>hi @user</p>"),
        ("in <#C07ABC|support>", "<p>in #support</p>"),
        ("in <#C07ABC>", "<p>in #channel</p>"),
        ("<!here> look", "<p>@here look</p>"),
        ("<!subteam^S1|@support-team> look", "<p>@support-team look</p>"),
    ],
)
def test_mentions_read_as_names(text: str, html: str) -> None:
    assert to_html(text, names={"U123": "Jane Doe"}) == html


def test_angle_brackets_that_are_not_slack_sequences_stay_text() -> None:
    assert to_html("a <b> c") == "<p>a &lt;b&gt; c</p>"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*bold*", "<strong>bold</strong>"),
        ("_italic_", "<em>italic</em>"),
        ("~gone~", "<del>gone</del>"),
        ("`x = 1`", "<code>x = 1</code>"),
        ("a *b* _c_ ~d~ e", "a <strong>b</strong> <em>c</em> <del>d</del> e"),
        ("snake_case_name", "snake_case_name"),  # underscores inside a word are not italics
        ("2*3*4", "2*3*4"),
        ("a * not bold *", "a * not bold *"),
        ("*_both_*", "<strong><em>both</em></strong>"),
    ],
)
def test_inline_formatting(text: str, html: str) -> None:
    assert to_html(text) == f"<p>{html}</p>"


def test_code_block_is_verbatim() -> None:
    html = to_html("before\n```\nif a < b:\n    *x* = _y_\n\n\nend\n```")
    assert html == "<p>before</p><pre><code>if a &lt; b:\n    *x* = _y_\n\n\nend</code></pre>"


def test_quote() -> None:
    assert to_html("> first\n> second") == "<blockquote>first<br>second</blockquote>"


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


# ----- formatting stays out of URLs and code -----


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<https://x.io/_docs_/a|docs>", '<a href="https://x.io/_docs_/a">docs</a>'),
        ("<https://x.io/*a*/~b~/c>", '<a href="https://x.io/*a*/~b~/c">https://x.io/*a*/~b~/c</a>'),
        ("_see <https://x.io/_a_|here>_", '<em>see <a href="https://x.io/_a_">here</a></em>'),
        (
            "see https://x.io/_docs_/a.",
            'see <a href="https://x.io/_docs_/a">https://x.io/_docs_/a</a>.',
        ),
        (
            "`*a* <https://x.io|x>` *b*",
            "<code>*a* &lt;https://x.io|x&gt;</code> <strong>b</strong>",
        ),
    ],
)
def test_formatting_never_applies_inside_a_url_or_code(text: str, html: str) -> None:
    assert to_html(text) == f"<p>{html}</p>"


@pytest.mark.parametrize(
    "url", ["HTTPS://X.io/a", "Http://x.io", "MAILTO:jane@customer.example", "hTtPs://x.io/Q"]
)
def test_link_schemes_are_case_insensitive(url: str) -> None:
    assert to_html(f"<{url}|go>") == f'<p><a href="{url}">go</a></p>'


@pytest.mark.parametrize(
    "text", ["<JavaScript:alert(1)|x>", "<DATA:text/html,x|x>", "<VBScript:x|x>", "<javascript:x>"]
)
def test_other_schemes_in_any_case_are_not_links(text: str) -> None:
    assert "<a" not in to_html(text)


@pytest.mark.parametrize("url", ["http://300.0/", "https://", "https://a\x1b.io"])
def test_an_address_no_parser_accepts_stays_text(url: str) -> None:
    assert to_html(f"<{url}|go>") == "<p>go</p>"


# ----- blocks -----


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("• one\n• two", "<ul><li>one</li><li>two</li></ul>"),
        ("- one\n* *two*", "<ul><li>one</li><li><strong>two</strong></li></ul>"),
        ("1. one\n2) two", "<ol><li>one</li><li>two</li></ol>"),
        (
            "Steps:\n1. log in\n2. export\nThanks",
            "<p>Steps:</p><ol><li>log in</li><li>export</li></ol><p>Thanks</p>",
        ),
        ("• a\n\n• b", "<ul><li>a</li></ul><ul><li>b</li></ul>"),
        ("-5 degrees\n1.5 litres", "<p>-5 degrees<br>1.5 litres</p>"),
    ],
)
def test_lists(text: str, html: str) -> None:
    assert to_html(text) == html


def test_no_block_element_inside_a_paragraph() -> None:
    html = to_html("a\n> quoted\nb ```code``` c\n• item")
    assert html == (
        "<p>a</p><blockquote>quoted</blockquote><p>b</p>"
        "<pre><code>code</code></pre><p>c</p><ul><li>item</li></ul>"
    )


def test_a_fence_in_a_link_label_is_the_label() -> None:
    assert to_html("<https://a.io|```a```> and <https://b.io|```>") == (
        '<p><a href="https://a.io">```a```</a> and <a href="https://b.io">```</a></p>'
    )


def test_unclosed_fence_and_backtick_stay_text() -> None:
    assert to_html("``` not code\n`nor this") == "<p>``` not code<br>`nor this</p>"


def test_characters_html_cannot_carry() -> None:
    # A lone surrogate can arrive through JSON; nh3 (UTF-8) could not encode it.
    assert to_html("a\ud800b\x00c\r\nd\re") == "<p>a\ufffdbc<br>d<br>e</p>"


# ----- plain text -----


def test_to_plain_reads_mentions_lists_and_code_without_markup() -> None:
    text = "<@U1> asks:\n• *export* of <https://x.io/_a_|the report>\n```a_b```"
    assert to_plain(text, names={"U1": "Jane Doe"}) == "@Jane Doe asks: export of the report a_b"


def test_subject_keeps_snake_case_and_names_the_mentioned_user() -> None:
    assert subject_from("<@U1>: snake_case_name fails", names={"U1": "Jane"}) == (
        "@Jane: snake_case_name fails"
    )
