"""Which calls go first when a tenant's request budget is short: live events' before the
import's and reconciliation's (the background).

The background is whatever runs inside `background_calls()`: the walk through the source's
list API, and the handling of the events it produced. Each event is handled in its own asyncio
task, which copies the context it was created in, so a ContextVar marks its calls without
passing a flag through every layer (as the call counter of the audit's `apiCalls` does).
A live event that joins a look-up a background event already started (the cached, shared
reads) waits for that call at the background's pace, at most the client's longest wait for
the budget (past it the call is not sent, and both events retry or park as usual).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_background: ContextVar[bool] = ContextVar("api_background", default=False)


@contextmanager
def background_calls(active: bool = True) -> Iterator[None]:
    """The calls made inside the block (when `active`) take the background's share of each
    tenant's budget, and wait while a live call of the same tenant waits."""
    token = _background.set(active or _background.get())
    try:
        yield
    finally:
        _background.reset(token)


def in_background() -> bool:
    return _background.get()
