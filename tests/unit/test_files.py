"""A message's files listed by name, type and size; linked only where a Vitally reader can open."""

from __future__ import annotations

from typing import Any

import pytest

from processors.files import files_html, human_size
from schemas.events import FileRef


def item(**fields: Any) -> str:
    return files_html([FileRef.model_validate(fields)])


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (120, "120 B"),
        (1023, "1023 B"),
        (1024, "1 KB"),
        (1536, "1.5 KB"),
        (3 * 1024**2, "3 MB"),
        (5 * 1024**3 + 1024**3 // 4, "5.2 GB"),
        (2 * 1024**5, "2048 TB"),
    ],
)
def test_human_size(size: int, shown: str) -> None:
    assert human_size(size) == shown


def test_no_files_no_list() -> None:
    assert files_html([]) == ""


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"name": "log.txt", "size": 120, "mimetype": "text/plain"}, "log.txt (text/plain, 120 B)"),
        ({"name": "a.py", "filetype": "python"}, "a.py (python)"),
        ({"title": "Q3 report", "size": 2048}, "Q3 report (2 KB)"),
        ({"id": "F01"}, "F01"),
        ({}, "file"),
        (
            {"name": "<b>x</b>.txt", "mimetype": "text/plain"},
            "&lt;b&gt;x&lt;/b&gt;.txt (text/plain)",
        ),
    ],
)
def test_name_type_and_size(fields: dict[str, Any], shown: str) -> None:
    assert item(**fields) == f"<ul><li>{shown}</li></ul>"


def test_private_urls_are_not_linked() -> None:
    private = item(
        name="log.txt",
        urlPrivate="https://files.slack.example/F01/log.txt",
        urlPrivateDownload="https://files.slack.example/F01/download/log.txt",
    )
    assert private == "<ul><li>log.txt</li></ul>"


def test_a_public_permalink_is_linked() -> None:
    public = item(name="a&b.png", permalinkPublic="https://slack-files.example/T-F-1?x=1&y=2")
    assert public == (
        '<ul><li><a href="https://slack-files.example/T-F-1?x=1&amp;y=2" '
        'rel="noopener noreferrer">a&amp;b.png</a></li></ul>'
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"permalinkPublic": "https://slack-files.example/T-F-1", "publicUrlShared": False},
        {"permalinkPublic": "javascript:alert(1)"},
        {"permalinkPublic": "/files/F01"},
    ],
)
def test_a_permalink_that_would_not_open_is_not_linked(fields: dict[str, Any]) -> None:
    assert "<a" not in item(name="x", **fields)
