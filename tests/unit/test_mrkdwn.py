"""Slack mrkdwn to the HTML Vitally stores: nothing the sender typed becomes markup."""

from __future__ import annotations

import re

import pytest

from processors.mrkdwn import subject_from, to_html, to_plain
from tests.unit.html_checks import HtmlEvents

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
        '<a href="javascript:alert(1)" rel="noopener noreferrer">click</a>',
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
    # Every link is a quoted href with no raw quote inside it, and our rel.
    for attributes in re.findall(r"<a ([^>]*)>", html):
        assert re.fullmatch(r'href="[^"<>]*" rel="noopener noreferrer"', attributes)


def test_plain_text_is_escaped_in_a_paragraph() -> None:
    assert to_html("  1 < 2 & 3 > 2 \"q\" 'a'  ") == "<p>1 &lt; 2 &amp; 3 &gt; 2 \"q\" 'a'</p>"


def test_paragraphs_and_line_breaks() -> None:
    assert to_html("one\ntwo\n\n\nthree") == "<p>one<br>two</p><p>three</p>"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "<https://app.example/x|this link>",
            '<a href="https://app.example/x" rel="noopener noreferrer">this link</a>',
        ),
        (
            "<http://app.example/x>",
            '<a href="http://app.example/x" rel="noopener noreferrer">http://app.example/x</a>',
        ),
        (
            "<mailto:jane@customer.example|mail Jane>",
            '<a href="mailto:jane@customer.example" rel="noopener noreferrer">mail Jane</a>',
        ),
    ],
)
def test_links_with_safe_schemes(text: str, html: str) -> None:
    assert to_html(text) == f"<p>{html}</p>"


def test_link_with_a_query_string() -> None:
    html = to_html("see <https://app.example/x?a=1&b=2|the report>")
    assert html == (
        '<p>see <a href="https://app.example/x?a=1&amp;b=2" rel="noopener noreferrer">'
        "the report</a></p>"
    )


def test_link_label_with_an_ampersand() -> None:
    assert to_html("<https://app.example/qa|Q&A>") == (
        '<p><a href="https://app.example/qa" rel="noopener noreferrer">Q&amp;A</a></p>'
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
        '<p><strong>see <a href="https://a.example" rel="noopener noreferrer">docs</a></strong></p>'
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
        (
            "<https://x.io/_docs_/a|docs>",
            '<a href="https://x.io/_docs_/a" rel="noopener noreferrer">docs</a>',
        ),
        (
            "<https://x.io/*a*/~b~/c>",
            '<a href="https://x.io/*a*/~b~/c" rel="noopener noreferrer">https://x.io/*a*/~b~/c</a>',
        ),
        (
            "_see <https://x.io/_a_|here>_",
            '<em>see <a href="https://x.io/_a_" rel="noopener noreferrer">here</a></em>',
        ),
        (
            "see https://x.io/_docs_/a.",
            'see <a href="https://x.io/_docs_/a" rel="noopener noreferrer">https://x.io/_docs_/a</a>.',
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
    assert to_html(f"<{url}|go>") == f'<p><a href="{url}" rel="noopener noreferrer">go</a></p>'


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
        '<p><a href="https://a.io" rel="noopener noreferrer">```a```</a> and '
        '<a href="https://b.io" rel="noopener noreferrer">```</a></p>'
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


# ----- as Slack sends it: escaped once, quotes, numbered and nested lists, emoji -----

REL = 'rel="noopener noreferrer"'


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("AT&amp;T says 5 &lt; 6", "<p>AT&amp;T says 5 &lt; 6</p>"),
        ("&amp;lt; is how you write &lt;", "<p>&amp;lt; is how you write &lt;</p>"),
        ("&lt;@U1&gt; and &lt;!here&gt;", "<p>&lt;@U1&gt; and &lt;!here&gt;</p>"),
        ("&lt;https://x.io&gt;", f'<p>&lt;<a href="https://x.io" {REL}>https://x.io</a>&gt;</p>'),
        ("`a &amp;&amp; b`", "<p><code>a &amp;&amp; b</code></p>"),
        ("```if a &gt; b```", "<pre><code>if a &gt; b</code></pre>"),
        (
            "<https://x.example/?a=1&amp;b=2|Q&amp;A>",
            f'<p><a href="https://x.example/?a=1&amp;b=2" {REL}>Q&amp;A</a></p>',
        ),
        ("<#C1|r&amp;d>", "<p>#r&amp;d</p>"),
    ],
)
def test_slacks_entities_are_decoded_exactly_once(text: str, html: str) -> None:
    assert to_html(text) == html


def test_a_link_keeps_every_parameter() -> None:
    html = to_html("<https://x.example/r?a=1&amp;b=2&amp;c=%263|report>")
    assert HtmlEvents(html).hrefs() == ["https://x.example/r?a=1&b=2&c=%263"]


def test_subjects_read_decoded() -> None:
    assert subject_from("AT&amp;T: 5 &lt; 6 &gt; 4") == "AT&T: 5 < 6 > 4"


def test_slacks_quote_lines_become_a_quote() -> None:
    assert to_html("as you said:\n&gt; it *fails*\n&gt; twice\nright") == (
        "<p>as you said:</p><blockquote>it <strong>fails</strong><br>twice</blockquote><p>right</p>"
    )


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("3. restart\n4. retry", '<ol start="3"><li>restart</li><li>retry</li></ol>'),
        ("1) one\n2) two", "<ol><li>one</li><li>two</li></ol>"),
        ("2. b\n5. e\n6. f", '<ol start="2"><li>b</li><li value="5">e</li><li>f</li></ol>'),
        ("0. zero\n1. one", '<ol start="0"><li>zero</li><li>one</li></ol>'),
        ("1. a\n• b", "<ol><li>a</li></ol><ul><li>b</li></ul>"),
    ],
)
def test_numbered_lists_keep_their_numbers(text: str, html: str) -> None:
    assert to_html(text) == html


def test_slacks_nested_lists_nest() -> None:
    text = "• fruit\n    ◦ apple\n        ▪︎ green\n    ◦ pear\n• nuts"
    assert to_html(text) == (
        "<ul><li>fruit<ul><li>apple<ul><li>green</li></ul></li><li>pear</li></ul></li>"
        "<li>nuts</li></ul>"
    )


def test_slacks_nested_numbering_uses_letters_then_roman_numerals() -> None:
    text = "1. plan\n    a. scope\n    b. cost\n        i. people\n        ii. tools\n2. do"
    assert to_html(text) == (
        '<ol><li>plan<ol type="a"><li>scope</li><li>cost<ol type="i"><li>people</li>'
        "<li>tools</li></ol></li></ol></li><li>do</li></ol>"
    )


def test_letters_at_the_margin_are_prose() -> None:
    assert to_html("a. b c\nI. Intro") == "<p>a. b c<br>I. Intro</p>"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<!here> <!channel> <!everyone>", "<p>@here @channel @everyone</p>"),
        ("<!here|here> <!channel|@channel>", "<p>@here @channel</p>"),
        ("<!date^1392734382^{date}|Feb 18th>", "<p>Feb 18th</p>"),
    ],
)
def test_broadcasts_read_as_slack_shows_them(text: str, html: str) -> None:
    assert to_html(text) == html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (":fire: it burns :+1:", "<p>🔥 it burns 👍</p>"),
        (":wave::skin-tone-4:", "<p>👋🏽</p>"),
        (":partyparrot: custom", "<p>:partyparrot: custom</p>"),
        ("at 12:30:45 sharp", "<p>at 12:30:45 sharp</p>"),
        ("`:fire:`", "<p><code>:fire:</code></p>"),
        ("_:white_check_mark: done_", "<p><em>✅ done</em></p>"),
        ("<https://x.io|:tada: release>", f'<p><a href="https://x.io" {REL}>🎉 release</a></p>'),
    ],
)
def test_emoji_shortcodes_read_as_emoji_and_custom_ones_as_typed(text: str, html: str) -> None:
    assert to_html(text) == html


def test_a_custom_emoji_does_not_hide_an_address() -> None:
    assert to_html("see:https://x.io") == (
        f'<p>see:<a href="https://x.io" {REL}>https://x.io</a></p>'
    )


@pytest.mark.parametrize(
    ("text", "url", "after"),
    [
        ("https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)", ""),
        ("(https://x.io/a)", "https://x.io/a", ")"),
        ("(see https://x.io/f(1)).", "https://x.io/f(1)", ")."),
        ("https://x.io/?q=a&amp;b=c.", "https://x.io/?q=a&b=c", "."),
    ],
)
def test_a_bare_address_keeps_a_closing_parenthesis_it_opened(
    text: str, url: str, after: str
) -> None:
    html = to_html(text)
    assert HtmlEvents(html).hrefs() == [url]
    assert html.endswith(f"</a>{after}</p>")
