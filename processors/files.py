"""A message's files as a list under its text: Vitally has no attachment field.

Each file reads "name (type, size)". Only a link a Vitally reader can open is kept: a file's
public permalink, unless the event says its public link is not shared. Slack's private URLs
need a Slack login, so they are never linked; such a file links to the conversation in
Unthread instead (when the tenant's Unthread link is known), where a teammate can open it.
File names are decoded from Slack's escaping once, like message text.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from processors.html_policy import anchor, linkable
from processors.mrkdwn_parse import decoded
from schemas.events import FileRef

_UNITS = ("KB", "MB", "GB", "TB")


def files_html(files: Sequence[FileRef], conversation_url: str | None = None) -> str:
    """An HTML list of the files, or "" when there are none; ``conversation_url`` is where a
    file without a public link can be opened."""
    if not files:
        return ""
    items = "".join(f"<li>{_file_html(file, conversation_url)}</li>" for file in files)
    return f"<ul>{items}</ul>"


def human_size(size: int) -> str:
    """Bytes in binary units to one decimal: 120 B, 1.5 KB, 3 MB."""
    scaled, unit = float(size), "B"
    for larger in _UNITS:
        if scaled < 1024:
            break
        scaled, unit = scaled / 1024, larger
    if unit == "B":
        return f"{size} B"
    return f"{scaled:.1f}".removesuffix(".0") + f" {unit}"


def _file_html(file: FileRef, conversation_url: str | None) -> str:
    name = decoded(file.name or file.title or file.id or "file")
    details = [d for d in (file.mimetype or file.filetype, _size(file.size)) if d]
    link = file.permalink_public
    if link and linkable(link) and file.public_url_shared is not False:
        shown = anchor(link, name)
    elif conversation_url and linkable(conversation_url):
        shown = anchor(conversation_url, name)
        details.append("in Unthread")
    else:
        shown = escape(name)
    return f"{shown} ({escape(', '.join(details))})" if details else shown


def _size(size: int | None) -> str | None:
    return human_size(size) if size is not None and size >= 0 else None
