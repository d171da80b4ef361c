"""Per-tenant pacing, so each tenant stays inside an API's request budget.

An API may allow L requests per tenant in any sliding window of W seconds and say so on every
response: `RateLimit-Limit: 1000, 1000;window=60`, `RateLimit-Remaining`, `RateLimit-Reset`
(seconds until the earliest request leaves the window). Until a server says so, a limiter
assumes `default_limit` in `default_window` (each client passes its API's own).

Each tenant gets its own leaky bucket, so one tenant being throttled never delays another.
The server's headers resize the bucket, and a nearly empty budget or a 429 parks that tenant
until the server's window has room again.

Live calls go first (`apiclient.priority`): a background call (an import's or a
reconciliation's) first takes a token from a second, smaller bucket, `background_share` of
the tenant's budget, so the walk never uses more than that share; then it waits while any live
call of the tenant waits for the budget, and only then queues in the tenant's bucket. So live
calls keep at least the rest of the budget, and all of it while the walk has nothing to send.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter

from apiclient.pacing import BudgetSpent as BudgetSpent

DEFAULT_LIMIT = 1000
DEFAULT_WINDOW = 60.0
_WINDOW_PARAM = re.compile(r"window\s*=\s*(\d+(?:\.\d+)?)")
_FIRST_INT = re.compile(r"\d+")


@dataclass(frozen=True)
class RateLimitSnapshot:
    """One tenant's pacing state, for metrics."""

    limit: int  # what the server advertises
    budget: int  # our share of it
    window: float
    remaining: int | None  # as of the last response; None before the first
    blocked_until: float | None  # clock time before which no request starts; None when free


@dataclass
class _TenantState:
    limit: int
    window: float
    limiter: AsyncLimiter
    # The background's share of the budget (None: no share of its own, it takes the whole).
    background: AsyncLimiter | None = None
    # Live calls waiting for the budget now; background calls wait until there are none.
    live_waiting: int = 0
    live_idle: asyncio.Event = field(default_factory=asyncio.Event)
    remaining: int | None = None
    not_before: float = 0.0
    # Set (and replaced) when the bucket is: requests queued in the old one move to the new one.
    resized: asyncio.Event = field(default_factory=asyncio.Event)


def bucket_for(limit: int, window: float) -> AsyncLimiter:
    """A leaky bucket that can never exceed `limit` requests in any `window`-second window.

    A leaky bucket of capacity C draining at r per second admits C + r*W requests in a window
    of W seconds: a full burst, then whatever drained meanwhile. Sized naively (C = L, r = L/W)
    that is 2L, and the server's sliding window answers 429. So keep the burst small
    (C ~ 5% of L) and drain at r = (L - C) / W: C + r*W = L exactly.
    aiolimiter's AsyncLimiter(max_rate, time_period) is a bucket with capacity max_rate
    draining max_rate / time_period per second, hence time_period = C / r.
    """
    capacity = 1 if limit <= 1 else max(1, min(limit - 1, round(limit * 0.05)))
    drain_per_second = max(limit - capacity, 1) / window
    return AsyncLimiter(max_rate=capacity, time_period=capacity / drain_per_second)


def parse_limit(value: str) -> tuple[int, float | None] | None:
    """`1000` or `1000, 1000;window=60` -> (1000, 60.0); (limit, None) without a window."""
    first = _FIRST_INT.search(value)
    if first is None:
        return None
    window = _WINDOW_PARAM.search(value)
    return int(first.group()), float(window.group(1)) if window else None


def parse_seconds(value: str | None) -> float | None:
    """A non-negative number of seconds from a header value, or None."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


class TenantRateLimiter:
    """Paces requests per tenant; `acquire` before each request, `observe` each response.

    `share` (0 < share <= 1) is this worker's fraction of each tenant's budget, for deployments
    where several workers use the same tenant's key; `background_share` (0 < share <= 1) is the
    most of that the background's calls may use (1: as much as live calls leave). `clock` and
    `sleep` are injectable so tests control time. The buckets run on the event loop's clock
    (aiolimiter), which for asyncio is also time.monotonic.
    """

    def __init__(
        self,
        *,
        share: float = 1.0,
        background_share: float = 1.0,
        default_limit: int = DEFAULT_LIMIT,
        default_window: float = DEFAULT_WINDOW,
        floor_fraction: float = 0.02,
        fallback_block: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        if not 0 < background_share <= 1:
            raise ValueError("background_share must be in (0, 1]")
        self._share = share
        self._background_share = background_share
        self._default_limit = default_limit
        self._default_window = default_window
        self._floor_fraction = floor_fraction
        # How long to park a tenant after a 429 that carried no timing headers.
        self._fallback_block = fallback_block
        self._clock = clock
        self._sleep = sleep
        self._tenants: dict[str, _TenantState] = {}

    async def acquire(
        self, tenant_id: str, max_wait: float | None = None, *, background: bool = False
    ) -> None:
        """Wait until `tenant_id` may send one more request; `background`: after every live
        call of the tenant that waits, and within the background's share.

        Raises `BudgetSpent` instead of waiting longer than `max_wait` seconds in all.
        """
        state = self._state(tenant_id)
        deadline = None if max_wait is None else self._clock() + max_wait
        if background:
            await self._background_turn(state, deadline)
            await self._admit(state, deadline)
            return
        state.live_waiting += 1
        state.live_idle.clear()
        try:
            await self._admit(state, deadline)
        finally:
            state.live_waiting -= 1
            if not state.live_waiting:
                state.live_idle.set()

    async def _admit(self, state: _TenantState, deadline: float | None) -> None:
        while True:
            await self._wait_until_free(state, deadline)
            limiter = state.limiter
            if limiter.has_capacity():
                await limiter.acquire()
                break
            try:
                async with asyncio.timeout(self._left(deadline)):
                    admitted = await _acquire_unless_resized(limiter, state.resized)
            except TimeoutError:
                raise BudgetSpent(None) from None
            if admitted:
                break
        # A 429 seen while this request queued in the bucket parks it too.
        await self._wait_until_free(state, deadline)

    async def _background_turn(self, state: _TenantState, deadline: float | None) -> None:
        """The background's token, then no live call of the tenant waiting."""
        try:
            async with asyncio.timeout(self._left(deadline)):
                if state.background is not None:
                    await state.background.acquire()
                while state.live_waiting:
                    await state.live_idle.wait()
        except TimeoutError:
            raise BudgetSpent(None) from None

    def _left(self, deadline: float | None) -> float | None:
        return None if deadline is None else max(0.0, deadline - self._clock())

    def observe(self, tenant_id: str, headers: Mapping[str, str], status: int) -> None:
        """Learn from one response's RateLimit-* headers (and status) for `tenant_id`."""
        state = self._state(tenant_id)
        lowered = {name.lower(): value for name, value in headers.items()}
        advertised = parse_limit(lowered.get("ratelimit-limit", ""))
        if advertised is not None:
            limit, window = advertised
            self._resize(state, limit, window or state.window)
        remaining = parse_seconds(lowered.get("ratelimit-remaining"))
        if remaining is not None:
            state.remaining = int(remaining)
        reset = parse_seconds(lowered.get("ratelimit-reset"))
        if status == 429:
            wait = reset if reset is not None else parse_seconds(lowered.get("retry-after"))
            self._block(state, self._fallback_block if wait is None else wait)
        elif remaining is not None and reset is not None and remaining <= self._floor(state):
            # Other workers or tools may share the key: trust the server's count over our bucket.
            self._block(state, reset)

    def snapshot(self, tenant_id: str) -> RateLimitSnapshot | None:
        """The pacing state of one tenant, or None if it has sent nothing yet."""
        state = self._tenants.get(tenant_id)
        if state is None:
            return None
        blocked = state.not_before if state.not_before > self._clock() else None
        return RateLimitSnapshot(
            limit=state.limit,
            budget=self._budget(state.limit),
            window=state.window,
            remaining=state.remaining,
            blocked_until=blocked,
        )

    def snapshots(self) -> dict[str, RateLimitSnapshot]:
        """Every known tenant's pacing state."""
        return {
            tenant: snap for tenant in self._tenants if (snap := self.snapshot(tenant)) is not None
        }

    def _state(self, tenant_id: str) -> _TenantState:
        state = self._tenants.get(tenant_id)
        if state is None:
            limit, window = self._default_limit, self._default_window
            limiter = bucket_for(self._budget(limit), window)
            state = self._tenants[tenant_id] = _TenantState(limit, window, limiter)
            state.background = self._background_bucket(limit, window)
            state.live_idle.set()
        return state

    def _background_bucket(self, limit: int, window: float) -> AsyncLimiter | None:
        if self._background_share >= 1:
            return None
        return bucket_for(max(1, math.floor(self._budget(limit) * self._background_share)), window)

    def _budget(self, limit: int) -> int:
        return max(1, math.floor(limit * self._share))

    def _floor(self, state: _TenantState) -> float:
        return max(1.0, state.limit * self._floor_fraction)

    def _resize(self, state: _TenantState, limit: int, window: float) -> None:
        if limit <= 0 or window <= 0 or (limit, window) == (state.limit, state.window):
            return
        state.limit, state.window = limit, window
        state.limiter = bucket_for(self._budget(limit), window)
        state.background = self._background_bucket(limit, window)
        # Without this, what queued while the limit was low (a 429 storm) would drain at that
        # pace for minutes after the server raised it again.
        state.resized.set()
        state.resized = asyncio.Event()

    def _block(self, state: _TenantState, seconds: float) -> None:
        state.not_before = max(state.not_before, self._clock() + seconds)

    async def _wait_until_free(self, state: _TenantState, deadline: float | None) -> None:
        # Loop: another response may push `not_before` further while we sleep.
        while (wait := state.not_before - self._clock()) > 0:
            if deadline is not None and state.not_before > deadline:
                raise BudgetSpent(wait)
            await self._sleep(wait)


async def _acquire_unless_resized(limiter: AsyncLimiter, resized: asyncio.Event) -> bool:
    """Queue in `limiter` until it admits us (True) or the bucket is replaced (False)."""
    acquiring = asyncio.ensure_future(limiter.acquire())
    replaced = asyncio.ensure_future(resized.wait())
    try:
        await asyncio.wait({acquiring, replaced}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        replaced.cancel()
        acquired = acquiring.done()
        if not acquired:
            acquiring.cancel()
    if acquired:
        acquiring.result()
    return acquired
