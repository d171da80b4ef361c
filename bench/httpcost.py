"""``python -m bench.httpcost``: the CPU one httpx request costs the client, against the sandbox.

vitally-sync makes one Vitally call per synced event, so this is a floor under its CPU per
event, and 1 / (that CPU) a ceiling on one worker process's events/s at zero latency,
whatever else it does. The request is the people lookup the worker makes, through one pooled
``httpx.AsyncClient`` as in the worker, ``--concurrency`` at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence

import httpx

from bench.scenarios import NOT_BINDING
from vitally_sandbox.process import run_sandbox

ADMIN = "ops@vendor.example"


async def measure(
    base_url: str, headers: dict[str, str], requests: int, concurrency: int, keepalive: int
) -> None:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=keepalive)
    async with httpx.AsyncClient(base_url=base_url, limits=limits) as http:
        slots = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with slots:
                response = await http.get(
                    "/resources/admins/search", params={"email": ADMIN}, headers=headers
                )
                response.raise_for_status()

        await asyncio.gather(*(one() for _ in range(min(200, requests))))  # warm the pool
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.gather(*(one() for _ in range(requests)))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    print(
        f"httpx: {requests} requests, {concurrency} at a time, {keepalive} kept alive: "
        f"{requests / wall:.0f} requests/s; "
        f"client CPU {cpu / requests * 1000:.2f} ms per request "
        f"(ceiling {requests / cpu:.0f} requests per CPU-second)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.httpcost", description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--keepalive", type=int, default=100, help="idle connections the pool keeps (of 100)"
    )
    args = parser.parse_args(argv)
    with run_sandbox() as sandbox:
        sandbox.add_org(
            "bench", tokens=["bench-token"], admins=[{"email": ADMIN, "name": "Ops"}],
            rate_limit=NOT_BINDING,
        )  # fmt: skip
        headers = sandbox.auth_headers("bench-token")
        asyncio.run(
            measure(sandbox.base_url, headers, args.requests, args.concurrency, args.keepalive)
        )


if __name__ == "__main__":
    main()
