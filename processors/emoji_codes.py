"""Slack's emoji shortcodes as the characters Slack shows.

Slack writes an emoji in message text as ``:name:``, optionally followed by a skin tone
(``:wave::skin-tone-3:``). Standard names are looked up in the ``emoji`` package's alias table
(the GitHub/Slack names); a name it does not know is a workspace's custom emoji, which only
Slack can draw, so it stays as typed.
"""

from __future__ import annotations

import re

import emoji

# ":skin-tone-2:" .. ":skin-tone-6:" are Fitzpatrick modifiers U+1F3FB .. U+1F3FF.
_SKIN_TONE = re.compile(r":skin-tone-([2-6]):")
SHORTCODE = r":[a-z0-9_+'-]+:(?::skin-tone-[2-6]:)?"
_SHORTCODE = re.compile(SHORTCODE, re.IGNORECASE)


def unicode_emoji(shortcode: str) -> str | None:
    """The emoji for ``:name:`` (with an optional skin tone), or None for a custom one."""
    tone = _SKIN_TONE.search(shortcode, 1)
    name = shortcode[: tone.start()] if tone else shortcode
    drawn = emoji.emojize(name, language="alias")
    if drawn == name:
        return None
    return drawn + chr(0x1F3FB + int(tone.group(1)) - 2) if tone else drawn


def emojized(text: str) -> str:
    """``text`` with every standard shortcode drawn; custom ones are left as typed."""
    return _SHORTCODE.sub(lambda match: unicode_emoji(match.group(0)) or match.group(0), text)
