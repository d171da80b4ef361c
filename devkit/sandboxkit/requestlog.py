"""What the sandbox saw: a bounded log of recent /resources requests and per-org counters.

Tests of the real service assert on these (how many calls, which statuses, which key was
sent), so the log names the token only by its fingerprint, never the token itself.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from sandboxkit.clock import to_iso


@dataclass(frozen=True)
class LogEntry:
    method: str
    path: str
    status: int
    org: str | None
    token_fingerprint: str | None
    at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "org": self.org,
            "tokenFingerprint": self.token_fingerprint,
            "at": to_iso(self.at),
        }


@dataclass
class OrgStats:
    """Counters for one org's requests, by status code and by route template."""

    requests: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)

    def record(self, status: int, route: str) -> None:
        self.requests += 1
        self.by_status[str(status)] += 1
        self.by_route[route] += 1


class RequestLog:
    """The most recent requests, oldest first, bounded so a long demo cannot eat memory."""

    def __init__(self, size: int = 1000) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=size)

    def append(self, entry: LogEntry) -> None:
        self._entries.append(entry)

    def recent(self, *, org: str | None, limit: int) -> list[LogEntry]:
        matching = [e for e in self._entries if org is None or e.org == org]
        return matching[-limit:] if limit > 0 else []

    def clear(self) -> None:
        self._entries.clear()
