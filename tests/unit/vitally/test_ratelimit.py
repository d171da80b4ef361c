import asyncio
import bisect

import pytest

from apiclient.ratelimit import BudgetSpent, bucket_for, parse_limit
from tests.fakes import FakeTime
from tests.unit.vitally.fakes import VirtualTimeLoop, run_virtual
from vitally import TenantRateLimiter


def busiest_window(times: list[float], window: float) -> int:
    """Most requests the server would count at once: those in any (t - window, t]."""
    ordered = sorted(times)
    return max(
        (i + 1 - bisect.bisect_right(ordered, t - window) for i, t in enumerate(ordered)),
        default=0,
    )


async def grant_times(
    limiter: TenantRateLimiter, loop: VirtualTimeLoop, tenant: str, n: int, tasks: int = 1
) -> list[float]:
    times: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            await limiter.acquire(tenant)
            times.append(loop.time())

    await asyncio.gather(*(worker(n // tasks) for _ in range(tasks)))
    return times


@pytest.mark.parametrize("tasks", [1, 7])
def test_never_more_than_the_limit_in_any_sliding_window(tasks: int) -> None:
    async def scenario(loop: VirtualTimeLoop) -> list[float]:
        limiter = TenantRateLimiter(default_limit=100, default_window=10.0, clock=loop.time)
        return await grant_times(limiter, loop, "T01ACME", 350, tasks)

    times = run_virtual(scenario)
    assert len(times) == 350
    assert busiest_window(times, 10.0) <= 100
    # ...and not needlessly slow: close to the full budget in the first window.
    assert sum(t < 10.0 for t in times) >= 95


def test_share_scales_the_budget_for_workers_sharing_a_key() -> None:
    async def scenario(loop: VirtualTimeLoop) -> list[float]:
        limiter = TenantRateLimiter(
            default_limit=100, default_window=10.0, share=0.5, clock=loop.time
        )
        return await grant_times(limiter, loop, "T01ACME", 150)

    assert busiest_window(run_virtual(scenario), 10.0) <= 50


def test_resizes_when_the_server_announces_a_different_limit() -> None:
    async def scenario(loop: VirtualTimeLoop) -> tuple[list[float], float]:
        limiter = TenantRateLimiter(default_limit=100, default_window=10.0, clock=loop.time)
        await grant_times(limiter, loop, "T01ACME", 10)
        limiter.observe("T01ACME", {"RateLimit-Limit": "20, 20;window=10"}, 200)
        snapshot = limiter.snapshot("T01ACME")
        assert snapshot is not None and (snapshot.limit, snapshot.window) == (20, 10.0)
        resized_at = loop.time()
        return await grant_times(limiter, loop, "T01ACME", 60), resized_at

    times, resized_at = run_virtual(scenario)
    assert all(t >= resized_at for t in times)
    assert busiest_window(times, 10.0) <= 20


def test_requests_queued_under_a_low_limit_move_on_when_it_rises() -> None:
    """After a 429 storm the server advertises its normal limit again: the backlog that queued
    at 20 per 10 s must not keep draining at that pace."""

    async def scenario(loop: VirtualTimeLoop) -> list[float]:
        limiter = TenantRateLimiter(default_limit=20, default_window=10.0, clock=loop.time)
        backlog = asyncio.ensure_future(grant_times(limiter, loop, "T01ACME", 200, tasks=200))
        await asyncio.sleep(1.0)
        limiter.observe("T01ACME", {"RateLimit-Limit": "1000, 1000;window=10"}, 200)
        return await backlog

    times = run_virtual(scenario)
    assert len(times) == 200
    # At 20 per 10 s the backlog would take ~100 s; at the new limit it is through in a few.
    assert max(times) < 5.0
    assert busiest_window(times, 10.0) <= 20 + 1000


def test_a_limit_without_window_keeps_the_known_window() -> None:
    limiter = TenantRateLimiter(default_limit=1000, default_window=60.0, clock=lambda: 0.0)
    limiter.observe("T01ACME", {"ratelimit-limit": "100"}, 200)
    snapshot = limiter.snapshot("T01ACME")
    assert snapshot is not None and (snapshot.limit, snapshot.window) == (100, 60.0)


def test_throttled_tenant_waits_and_others_do_not() -> None:
    async def scenario(loop: VirtualTimeLoop) -> dict[str, float]:
        limiter = TenantRateLimiter(clock=loop.time)
        limiter.observe(
            "T01ACME",
            {"RateLimit-Limit": "1000", "RateLimit-Remaining": "0", "RateLimit-Reset": "30"},
            429,
        )
        done: dict[str, float] = {}

        async def send(tenant: str) -> None:
            await limiter.acquire(tenant)
            done[tenant] = loop.time()

        await asyncio.gather(send("T01ACME"), send("T02GLOBEX"))
        return done

    done = run_virtual(scenario)
    assert done["T02GLOBEX"] == pytest.approx(0.0, abs=0.01)
    assert done["T01ACME"] == pytest.approx(30.0, abs=0.01)


@pytest.mark.parametrize(
    ("headers", "status", "blocked_for"),
    [
        ({"RateLimit-Remaining": "20", "RateLimit-Reset": "12"}, 200, 12.0),  # at the 2% floor
        ({"RateLimit-Remaining": "21", "RateLimit-Reset": "12"}, 200, None),  # above it
        ({"RateLimit-Reset": "9"}, 429, 9.0),
        ({"Retry-After": "4"}, 429, 4.0),  # no Reset: fall back to Retry-After
        ({"RateLimit-Reset": "9", "Retry-After": "4"}, 429, 9.0),  # Reset wins
        ({}, 429, 1.0),  # no advice at all: a short default pause
    ],
)
def test_when_a_tenant_is_blocked(
    headers: dict[str, str], status: int, blocked_for: float | None
) -> None:
    limiter = TenantRateLimiter(default_limit=1000, clock=lambda: 100.0)
    limiter.observe("T01ACME", headers, status)
    snapshot = limiter.snapshot("T01ACME")
    assert snapshot is not None
    expected = None if blocked_for is None else 100.0 + blocked_for
    assert snapshot.blocked_until == expected
    assert limiter.snapshot("T02GLOBEX") is None


async def test_acquire_sleeps_out_a_block_with_the_injected_clock() -> None:
    time = FakeTime()
    limiter = TenantRateLimiter(clock=time.monotonic, sleep=time.sleep)
    limiter.observe("T01ACME", {"RateLimit-Reset": "5"}, 429)
    await limiter.acquire("T01ACME")
    await limiter.acquire("T02GLOBEX")
    assert time.slept == [5.0]


async def test_a_block_longer_than_the_wait_allowed_is_not_waited_out() -> None:
    time = FakeTime()
    limiter = TenantRateLimiter(clock=time.monotonic, sleep=time.sleep)
    limiter.observe("T01ACME", {"RateLimit-Reset": "30"}, 429)
    with pytest.raises(BudgetSpent) as spent:
        await limiter.acquire("T01ACME", max_wait=8)
    assert spent.value.retry_after == 30.0 and time.slept == []
    await limiter.acquire("T01ACME", max_wait=31)  # within the wait: slept out
    assert time.slept == [30.0]


def test_a_queue_in_the_bucket_longer_than_the_wait_allowed_gives_up() -> None:
    # 60 per minute: a burst of 3, then about one a second. Of four queued with 2.5 s to
    # wait, two are sent in time and two give up, with no time the server advised.
    async def scenario(loop: VirtualTimeLoop) -> list[tuple[str, float | None]]:
        limiter = TenantRateLimiter(default_limit=60, default_window=60.0, clock=loop.time)
        for _ in range(3):
            await limiter.acquire("T01ACME")
        start = loop.time()
        outcomes: list[tuple[str, float | None]] = []

        async def send() -> None:
            try:
                await limiter.acquire("T01ACME", max_wait=2.5)
                outcomes.append(("sent", round(loop.time() - start, 1)))
            except BudgetSpent as spent:
                outcomes.append(("spent", spent.retry_after))

        await asyncio.gather(*(send() for _ in range(4)))
        return outcomes

    outcomes = run_virtual(scenario)
    sent = [t for what, t in outcomes if what == "sent"]
    assert len(sent) == 2 and all(t is not None and t <= 2.5 for t in sent)
    assert [o for o in outcomes if o[0] == "spent"] == [("spent", None)] * 2


def test_snapshots_report_every_tenant_for_metrics() -> None:
    limiter = TenantRateLimiter(default_limit=1000, share=0.5, clock=lambda: 0.0)
    limiter.observe("T01ACME", {"RateLimit-Limit": "1000", "RateLimit-Remaining": "990"}, 200)
    snapshots = limiter.snapshots()
    assert list(snapshots) == ["T01ACME"]
    acme = snapshots["T01ACME"]
    assert (acme.limit, acme.budget, acme.remaining, acme.blocked_until) == (1000, 500, 990, None)


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("1000", (1000, None)),
        ("1000, 1000;window=60", (1000, 60.0)),
        ("100;w=60, 100;window=30", (100, 30.0)),
        ("garbage", None),
        ("", None),
    ],
)
def test_parse_limit(value: str, parsed: tuple[int, float | None] | None) -> None:
    assert parse_limit(value) == parsed


@pytest.mark.parametrize(("limit", "capacity"), [(1000, 50), (100, 5), (10, 1), (2, 1), (1, 1)])
def test_bucket_burst_plus_drain_fits_the_limit(limit: int, capacity: int) -> None:
    bucket = bucket_for(limit, 60.0)
    drained_per_window = bucket.max_rate / bucket.time_period * 60.0
    assert bucket.max_rate == capacity
    assert capacity + drained_per_window == pytest.approx(max(limit, 2))


def test_share_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="share"):
        TenantRateLimiter(share=0.0)
    with pytest.raises(ValueError, match="share"):
        TenantRateLimiter(share=1.5)
