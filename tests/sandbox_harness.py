"""The in-process harness both sandboxes' tests use: the ASGI app behind httpx, a manual clock
and a sleeper that records instead of waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sandboxkit.clock import ManualClock
from starlette.applications import Starlette


@dataclass
class SandboxHarness:
    """One in-process sandbox: `client` speaks as acme, `control` carries no credentials."""

    clock: ManualClock
    sleeps: list[float]
    client: httpx.AsyncClient
    control: httpx.AsyncClient


H = TypeVar("H", bound=SandboxHarness)


@asynccontextmanager
async def harness_factory(
    harness: type[H],
    create_app: Callable[..., Starlette],
    *,
    seed: Mapping[str, Any],
    headers: Mapping[str, str],
) -> AsyncIterator[Callable[..., H]]:
    """Builds harnesses: keyword arguments go to `create_app` (seed defaults to `seed`); the
    client sends `headers`. Their HTTP clients are closed on the way out."""
    opened: list[httpx.AsyncClient] = []

    def build(**options: Any) -> H:
        clock = ManualClock()
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        options.setdefault("seed", seed)
        app = create_app(clock=clock, sleep=sleep, **options)
        transport = httpx.ASGITransport(app=app)
        base = "http://sandbox.test"
        client = httpx.AsyncClient(transport=transport, base_url=base, headers=dict(headers))
        control = httpx.AsyncClient(transport=transport, base_url=base)
        opened.extend((client, control))
        return harness(clock, sleeps, client, control)

    try:
        yield build
    finally:
        for one in opened:
            await one.aclose()
