"""Clocks for processors: the real one, and a frozen one for tests and replays."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FrozenClock:
    at: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 10, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at
