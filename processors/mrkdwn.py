"""Slack mrkdwn (Unthread's message text) to the HTML Vitally stores, and to a plain subject.

Everything the sender typed is HTML-escaped first; only the markup we generate is trusted, so
a message can never inject tags into Vitally. Links keep only http(s) and mailto targets.
"""

from __future__ import annotations

import html
import re

_SUBJECT_MAX = 80
# Slack's angle-bracket forms: <https://x|label>, <https://x>, <@U123>, <#C1|name>, <!here>.
# It runs on escaped text: a target or label may hold "&amp;" but not another "&lt;"/"&gt;".
_ANGLE = re.compile(r"&lt;((?:(?!&[lg]t;)[^|\s])+?)(?:\|((?:(?!&[lg]t;).)*?))?&gt;")
_CODE_BLOCK = re.compile(r"```(.+?)```", re.S)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def to_html(text: str) -> str:
    """Render mrkdwn as HTML paragraphs; code is kept verbatim, links are made safe."""
    escaped = html.escape(text.strip(), quote=True)
    blocks: list[str] = []

    def stash(match: re.Match[str]) -> str:
        blocks.append(f"<pre><code>{match.group(1).strip(chr(10))}</code></pre>")
        return f"\x00{len(blocks) - 1}\x00"

    body = _CODE_BLOCK.sub(stash, escaped)
    body = _INLINE_CODE.sub(r"<code>\1</code>", body)
    body = _ANGLE.sub(_link, body)
    body = _BOLD.sub(r"<strong>\1</strong>", body)
    body = _ITALIC.sub(r"<em>\1</em>", body)
    body = _STRIKE.sub(r"<s>\1</s>", body)
    paragraphs = [p for p in re.split(r"\n{2,}", body) if p.strip()]
    rendered = "".join(f"<p>{_quote(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return re.sub("\x00(\\d+)\x00", lambda m: blocks[int(m.group(1))], rendered)


def to_plain(text: str) -> str:
    """Text without markup or links' targets, whitespace collapsed (for subjects)."""
    plain = re.sub(r"<([^<>|]+?)(?:\|([^<>]*?))?>", lambda m: m.group(2) or m.group(1), text)
    plain = re.sub(r"[*_~`]", "", plain)
    return " ".join(plain.split())


def subject_from(text: str, limit: int = _SUBJECT_MAX) -> str:
    """Shorten to at most ``limit`` characters, at a word boundary, with an ellipsis."""
    plain = to_plain(text)
    if len(plain) <= limit:
        return plain
    cut = plain[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:-") + "…"


def _link(match: re.Match[str]) -> str:
    # Both parts come from already-escaped text, so they are safe to emit as they are.
    target, label = match.group(1), match.group(2)
    if target.startswith(("@", "#", "!")):
        # Mentions and channel references have no meaning in Vitally; keep the readable part.
        return label or target
    if ":" not in target:
        return match.group(0)  # not a Slack control sequence: the sender typed "<...>"
    if not target.startswith(_SAFE_SCHEMES):
        return label or target
    return f'<a href="{target}">{label or target}</a>'


def _quote(paragraph: str) -> str:
    lines = paragraph.split("\n")
    if all(line.startswith("&gt; ") or line == "&gt;" for line in lines):
        inner = "\n".join(line[5:] for line in lines)
        return f"<blockquote>{inner}</blockquote>"
    return paragraph
