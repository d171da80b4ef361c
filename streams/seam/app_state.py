"""Where Faust's type hints fall short of what it does: table recovery, signal receivers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust


def tables_recovered(app: faust.App) -> bool:
    """The table manager's recovery has finished (its typed interface does not expose it)."""
    completed = app.tables.recovery.completed  # type: ignore[attr-defined]
    return bool(completed.is_set())


def on_signal(signal: Any, receiver: Callable[..., Awaitable[None]]) -> None:
    """Connect ``receiver``: Faust sends its signals' arguments by keyword (``assigned=``,
    ``revoked=``), which its declared receiver type cannot say."""
    signal.connect(receiver)
