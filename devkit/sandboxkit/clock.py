"""Time for the sandbox: an injectable clock and sleeper, and Vitally's timestamp format.

Rate-limit windows, outages and record timestamps all read the clock, and latency faults
await the sleeper, so tests swap both to step through a 60 s window without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

Sleeper = Callable[[float], Awaitable[None]]


class Clock(Protocol):
    """Wall-clock time in unix seconds."""

    def now(self) -> float: ...


class SystemClock:
    """The real clock, used when the sandbox serves a socket."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to; tests use it to slide rate-limit windows."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


async def real_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def to_iso(ts: float) -> str:
    """Format unix seconds the way Vitally does: `2020-12-11T20:16:27.370Z`."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    """Parse an ISO-8601 timestamp to unix seconds; a timestamp without zone is taken as UTC.

    Raises ValueError on anything `datetime.fromisoformat` does not accept.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
