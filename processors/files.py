"""A message's files as a list under its text: Vitally has no attachment field.

Each file reads "name (type, size)". Only a link a Vitally reader can open is kept: a file's
public permalink, unless the event says its public link is not shared. Slack's private URLs
need a Slack login, so they are never linked.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from processors.html_policy import linkable
from schemas.events import FileRef

_UNITS = ("KB", "MB", "GB", "TB")


def files_html(files: Sequence[FileRef]) -> str:
    """An HTML list of the files, or "" when there are none."""
    if not files:
        return ""
    return "<ul>" + "".join(f"<li>{_file_html(file)}</li>" for file in files) + "</ul>"


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


def _file_html(file: FileRef) -> str:
    name = escape(file.name or file.title or file.id or "file")
    link = file.permalink_public
    if link and linkable(link) and file.public_url_shared is not False:
        name = f'<a href="{escape(link)}">{name}</a>'
    details = [d for d in (file.mimetype or file.filetype, _size(file.size)) if d]
    return f"{name} ({escape(', '.join(details))})" if details else name


def _size(size: int | None) -> str | None:
    return human_size(size) if size is not None and size >= 0 else None
