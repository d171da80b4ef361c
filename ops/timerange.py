"""Time bounds given on the command line: an ISO date-time or a duration back from now."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_instant(text: str, now: datetime) -> int:
    """ms since the epoch for ``2026-12-01``, ``2026-12-01T10:00:00+01:00`` or ``24h`` ago.

    A date-time without an offset is UTC: audit times are, and the tools print them so.
    Raises ValueError with what is accepted.
    """
    duration = _DURATION.fullmatch(text.strip())
    if duration:
        amount, unit = duration.groups()
        instant = now - timedelta(**{_UNITS[unit]: int(amount)})
    else:
        try:
            instant = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(
                f"{text!r} is neither an ISO date-time (2026-12-01T10:00:00Z) "
                "nor a duration back from now (90s, 15m, 24h, 7d, 2w)"
            ) from None
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
    return int(instant.timestamp() * 1000)


def iso(ms: int) -> str:
    """How the tools print a time: UTC, to the millisecond."""
    stamp = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


@dataclass(frozen=True)
class TimeRange:
    """[since, until) in ms since the epoch; None is open on that side."""

    since: int | None = None
    until: int | None = None

    def __contains__(self, ms: int) -> bool:
        return (self.since is None or ms >= self.since) and (self.until is None or ms < self.until)
