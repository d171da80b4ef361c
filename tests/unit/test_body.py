"""message_body: the text, then the files, sanitized as one; names for mentions of the author."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.body import mention_names, message_body
from schemas.events import FileRef, Message
from tests.unit.html_checks import assert_safe_and_valid


def message(**fields: Any) -> Message:
    return Message.model_validate({"id": "m_1", **fields})


@pytest.mark.parametrize("fields", [{}, {"text": " \n"}, {"files": []}, {"content": ""}])
def test_neither_text_nor_files_has_no_body(fields: dict[str, Any]) -> None:
    assert message_body(message(**fields)) is None


def test_text_then_files() -> None:
    body = message_body(message(text="see *this*", files=[{"name": "a.txt", "size": 3}]))
    assert body == "<p>see <strong>this</strong></p><ul><li>a.txt (3 B)</li></ul>"


def test_a_file_name_html_cannot_carry_is_replaced_not_fatal() -> None:
    body = message_body(message(files=[{"name": "a\ud800.txt\x00"}]))
    assert body == "<ul><li>a\ufffd.txt</li></ul>"


def test_content_is_the_text() -> None:
    assert message_body(message(content="_hi_")) == "<p><em>hi</em></p>"


@pytest.mark.parametrize(
    ("user", "names"),
    [
        ({"id": "u_1", "name": "Jane", "slackId": "U1"}, {"u_1": "Jane", "U1": "Jane"}),
        ({"id": "u_1", "name": "Jane"}, {"u_1": "Jane"}),
        ({"id": "u_1", "slackId": "U1"}, {}),
        (None, {}),
    ],
)
def test_mention_names(user: dict[str, Any] | None, names: dict[str, str]) -> None:
    assert mention_names(message(user=user)) == names


_FILES = st.lists(
    st.builds(
        FileRef,
        name=st.none() | st.text(max_size=20),
        mimetype=st.none() | st.text(max_size=10),
        size=st.none() | st.integers(min_value=-1, max_value=1 << 50),
        permalink_public=st.none() | st.text(max_size=20) | st.just("javascript:alert(1)"),
    ),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(st.none() | st.text(max_size=100), _FILES)
def test_any_body_is_safe_valid_html(text: str | None, files: list[FileRef]) -> None:
    body = message_body(Message(id="m", text=text, files=files))
    assert body is not None or (not files and not (text or "").strip())
    if body is not None:
        assert_safe_and_valid(body)


def test_mention_names_include_the_teammate_a_message_was_sent_by() -> None:
    sent = message(
        user={"id": "u_bot", "name": "Unthread", "slackId": "U0BOT"},
        sentByUser={"id": "u_sam", "name": "Sam", "slackId": "U0SAM"},
    )
    assert mention_names(sent) == {"u_bot": "Unthread", "U0BOT": "Unthread",
                                   "u_sam": "Sam", "U0SAM": "Sam"}  # fmt: skip
