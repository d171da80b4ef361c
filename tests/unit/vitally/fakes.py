"""Test doubles for the Vitally package: two tenants, recorded sleeps, scripted HTTP answers
(the Unthread client's tests use them too), a virtual-time loop."""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import httpx

from vitally.target import VitallyTarget

T = TypeVar("T")

ACME = VitallyTarget.for_tenant("T01ACME", "acme", "us", "acme-secret", "https://vitally.test")
GLOBEX = VitallyTarget.for_tenant(
    "T02GLOBEX", "globex", "us", "globex-secret", "https://vitally.test"
)
TICK = 1e-6
Handler = Callable[[httpx.Request], httpx.Response]


class RecordedSleep:
    """An async sleep that returns at once and remembers what it was asked to wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def scripted(*replies: httpx.Response | Exception) -> tuple[list[httpx.Request], Handler]:
    """A handler that answers with `replies` in order and records every request."""
    seen: list[httpx.Request] = []
    queue: Iterator[httpx.Response | Exception] = iter(replies)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reply = next(queue)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return seen, handler


class _VirtualSelector(selectors.SelectSelector):
    """Instead of blocking for `timeout`, jump the virtual clock forward by it.

    Every loop iteration also costs a microsecond, as on a real machine: aiolimiter re-arms
    timers for float-rounding-sized remainders, which would otherwise spin at a frozen clock.
    """

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and nothing is scheduled")
        self.now += max(timeout, TICK)
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock only moves when every task is waiting on a timer.

    aiolimiter times its buckets with `loop.time()`, so this is how a test can watch a limiter
    pace thousands of requests over minutes of "time" in milliseconds of real time.
    """

    def __init__(self) -> None:
        self._virtual = _VirtualSelector()
        super().__init__(self._virtual)

    def time(self) -> float:
        return self._virtual.now


def run_virtual(make: Callable[[VirtualTimeLoop], Coroutine[Any, Any, T]]) -> T:
    """Run `make(loop)` to completion on a fresh virtual-time loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(make(loop))
    finally:
        loop.close()
