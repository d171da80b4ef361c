"""What the send loop asks of a tenant's request budget (`ratelimit.TenantRateLimiter`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class BudgetSpent(Exception):  # noqa: N818 - a condition, not a failure of ours
    """The tenant's budget would hold a request past the caller's wait; `retry_after` is
    how long until it is free again, when known (the block after a 429)."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__(f"request budget spent (free in {retry_after} s)")
        self.retry_after = retry_after


class Pacer(Protocol):
    """Paces requests per tenant: `acquire` before each request, `observe` each response."""

    async def acquire(
        self, tenant_id: str, max_wait: float | None = None, *, background: bool = False
    ) -> None:
        """Wait for the tenant's budget; raise `BudgetSpent` rather than wait past `max_wait`.
        `background`: an import's or reconciliation's call, which lets live calls go first."""
        ...

    def observe(self, tenant_id: str, headers: Mapping[str, str], status: int) -> None: ...
