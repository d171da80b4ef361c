"""Vitally's rate limit: a sliding 60 s window per org, reported in `RateLimit-*` headers.

Vitally documents "1000 requests / min using a sliding window" and the headers
`RateLimit-Limit: 1000, 1000;window=60`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds
until the earliest request in the window leaves it).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Quota:
    """The window as one response reports it."""

    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": f"{self.limit}, {self.limit};window={WINDOW_SECONDS}",
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


def fresh_quota(limit: int) -> Quota:
    """The quota of an empty window, reported to callers the sandbox cannot tie to an org."""
    return Quota(limit, limit, 0)


class SlidingWindow:
    """The times of the requests an org made in the last 60 s."""

    def __init__(self) -> None:
        self._hits: deque[float] = deque()

    def peek(self, now: float, limit: int) -> Quota:
        self._expire(now)
        remaining = max(0, limit - len(self._hits))
        reset = math.ceil(self._hits[0] + WINDOW_SECONDS - now) if self._hits else 0
        return Quota(limit, remaining, reset)

    def acquire(self, now: float, limit: int) -> tuple[bool, Quota]:
        """Count one request if the window has room; a refused request is not counted."""
        self._expire(now)
        allowed = len(self._hits) < limit
        if allowed:
            self._hits.append(now)
        return allowed, self.peek(now, limit)

    def _expire(self, now: float) -> None:
        while self._hits and self._hits[0] <= now - WINDOW_SECONDS:
            self._hits.popleft()
