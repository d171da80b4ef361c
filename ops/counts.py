"""``vitally-sync audit``: audit records per tenant, by outcome and reason, over a time range."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ops.entries import ReadEntry
from ops.timerange import TimeRange


@dataclass(frozen=True, order=True)
class CountRow:
    """One line of the report: a tenant's records with one outcome and reason."""

    # Tenant-less records (unreadable input) sort and print as "".
    tenant: str
    outcome: str
    reason: str
    count: int


@dataclass
class AuditCounts:
    """Counts of the entries that fall in `window` (and belong to `tenant`, when given)."""

    window: TimeRange
    tenant: str | None = None
    read: int = 0
    _counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def add(self, read: ReadEntry) -> None:
        self.read += 1
        entry = read.entry
        if self.tenant is not None and entry.tenant_id != self.tenant:
            return
        if read.time is None or read.time not in self.window:
            return
        self._counts[(entry.tenant_id or "", entry.outcome, entry.reason or "")] += 1

    def add_all(self, entries: Iterable[ReadEntry]) -> AuditCounts:
        for entry in entries:
            self.add(entry)
        return self

    def rows(self) -> list[CountRow]:
        return sorted(CountRow(*key, count) for key, count in self._counts.items())

    def by_tenant(self) -> dict[str, list[CountRow]]:
        tenants: dict[str, list[CountRow]] = {}
        for row in self.rows():
            tenants.setdefault(row.tenant, []).append(row)
        return tenants
