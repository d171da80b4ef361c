"""Live calls first: the background (an import's or reconciliation's calls) takes at most its
share of a tenant's budget, and never a request while a live call of the tenant waits; live
calls keep the whole budget. On virtual time (the buckets' clock is the loop's)."""

from __future__ import annotations

import asyncio

import pytest

from apiclient.priority import background_calls, in_background
from apiclient.ratelimit import BudgetSpent, TenantRateLimiter
from tests.unit.vitally.fakes import VirtualTimeLoop, run_virtual
from tests.unit.vitally.test_ratelimit import busiest_window

TENANT = "T01ACME"


def limiter_on(loop: VirtualTimeLoop, background_share: float = 0.5) -> TenantRateLimiter:
    return TenantRateLimiter(
        default_limit=100, default_window=10.0, background_share=background_share,
        clock=loop.time,
    )  # fmt: skip


async def grants(
    limiter: TenantRateLimiter, loop: VirtualTimeLoop, n: int, *, background: bool
) -> list[float]:
    times: list[float] = []
    for _ in range(n):
        await limiter.acquire(TENANT, background=background)
        times.append(loop.time())
    return times


def test_the_background_takes_at_most_its_share() -> None:
    async def scenario(loop: VirtualTimeLoop) -> list[float]:
        return await grants(limiter_on(loop), loop, 150, background=True)

    times = run_virtual(scenario)
    assert len(times) == 150 and busiest_window(times, 10.0) <= 50


def test_live_calls_keep_the_whole_budget() -> None:
    async def scenario(loop: VirtualTimeLoop) -> list[float]:
        return await grants(limiter_on(loop), loop, 200, background=False)

    times = run_virtual(scenario)
    assert sum(t < 10.0 for t in times) >= 95 and busiest_window(times, 10.0) <= 100


def test_no_background_request_while_a_live_call_waits() -> None:
    """Two live callers that always want more, and a background one: the background gets its
    first request only after the live demand ends, and the live callers are granted as fast
    as without it."""

    async def run(with_background: bool) -> tuple[list[float], list[float]]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        limiter = limiter_on(loop)
        live = [asyncio.ensure_future(grants(limiter, loop, 100, background=False))
                for _ in range(2)]  # fmt: skip
        background = asyncio.ensure_future(
            grants(limiter, loop, 20 if with_background else 0, background=True)
        )
        live_times = sorted(t for times in await asyncio.gather(*live) for t in times)
        return live_times, await background

    async def scenario(loop: VirtualTimeLoop) -> tuple[list[float], list[float], list[float]]:
        alone, _ = await run(False)
        together, background = await run(True)
        return alone, together, background

    alone, together, background = run_virtual(scenario)
    assert len(background) == 20 and min(background) >= max(together)
    # The same pace: the background cost the live callers nothing (a tick of slack).
    assert max(together) - together[0] <= max(alone) - alone[0] + 0.01


def test_a_background_call_held_past_its_wait_is_not_sent() -> None:
    async def scenario(loop: VirtualTimeLoop) -> None:
        limiter = limiter_on(loop)
        live = asyncio.ensure_future(grants(limiter, loop, 300, background=False))
        await asyncio.sleep(0.5)  # the live caller is waiting for the budget by now
        with pytest.raises(BudgetSpent):
            await limiter.acquire(TENANT, max_wait=2.0, background=True)
        live.cancel()

    run_virtual(scenario)


def test_the_background_mark_is_scoped_to_its_block_and_task() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        with background_calls():
            inner = await asyncio.create_task(_seen())
        live_task = await asyncio.create_task(_seen())
        with background_calls(False):
            not_marked = in_background()
        return inner, live_task, not_marked

    assert asyncio.run(scenario()) == (True, False, False)


async def _seen() -> bool:
    return in_background()


def test_the_share_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="background_share"):
        TenantRateLimiter(background_share=0)
