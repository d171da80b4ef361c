"""A cap on how many events of one tenant are being processed at once.

Every tenant shares one worker's in-flight budget. A tenant whose Vitally is slow or whose
rate limit binds would otherwise fill that budget with events waiting on it, and everyone
else would crawl at its pace. Past the cap, that tenant's events are parked (in order, with
a short delay) instead, which frees their slots for other tenants.
"""

from __future__ import annotations

from collections import Counter


class TenantGate:
    """Caps one tenant's events in flight, so a slow tenant cannot fill the worker."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._busy: Counter[str] = Counter()

    def try_enter(self, tenant_id: str) -> bool:
        if self._busy[tenant_id] >= self._cap:
            return False
        self._busy[tenant_id] += 1
        return True

    def leave(self, tenant_id: str) -> None:
        self._busy[tenant_id] -= 1
        if self._busy[tenant_id] <= 0:
            del self._busy[tenant_id]

    def busy(self, tenant_id: str) -> int:
        return self._busy[tenant_id]
