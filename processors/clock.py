"""The one way time enters the service: a clock the app makes once and hands to everything.

Processors, the handler, parking, the conversation index and offset continuity all read the
time from a :class:`Clock` they are given, so tests move time by hand instead of sleeping.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where processors and the stream layer read the time."""

    def now(self) -> datetime:
        """Wall-clock time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds that only ever increase: for durations and deadlines."""
        ...


class SystemClock:
    """The machine's clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class FrozenClock:
    """A clock that moves only when told to: for tests and replays."""

    at: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 10, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.at.timestamp()

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def epoch_ms(clock: Clock) -> int:
    """Wall-clock milliseconds since the epoch, as Kafka and the audit records count time."""
    return int(clock.now().timestamp() * 1000)


def epoch_s(clock: Clock) -> float:
    return clock.now().timestamp()
