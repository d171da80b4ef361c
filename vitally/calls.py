"""Counting the HTTP requests one event costs (for the audit record's `apiCalls`).

The stream layer handles each event in its own asyncio task, and a task copies the context it
was created in, so a ContextVar scopes the count to one event without passing it around.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from apiclient.client import CallObserver as CallObserver


@dataclass
class CallCounter:
    """HTTP requests sent inside one `count_calls()` block, retries and 429s included."""

    value: int = 0
    parent: CallCounter | None = None


_current: ContextVar[CallCounter | None] = ContextVar("vitally_call_counter", default=None)


@contextmanager
def count_calls() -> Iterator[CallCounter]:
    """Count the requests sent inside the block; nested blocks also count towards outer ones."""
    counter = CallCounter(parent=_current.get())
    token = _current.set(counter)
    try:
        yield counter
    finally:
        _current.reset(token)


def record_call() -> None:
    """Called by the client once per HTTP request it sends."""
    counter = _current.get()
    while counter is not None:
        counter.value += 1
        counter = counter.parent
