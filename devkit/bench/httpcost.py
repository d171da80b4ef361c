"""``python -m bench.httpcost``: the CPU one Vitally request costs the client, against the sandbox.

vitally-sync makes one Vitally call per synced event, so this is a floor under its CPU per
event, and 1 / (that CPU) a ceiling on one worker process's events/s at zero latency,
whatever else it does. The request is the admin lookup the worker makes, ``--concurrency`` at
a time, through the worker's client (``aiohttp``: httpx on aiohttp's pool, ``build_http_client``)
and, as the baseline in the same run, through httpx's own pool (``httpcore``).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence

import httpx
from vitally_sandbox.process import run_sandbox

from bench.scenarios import NOT_BINDING
from vitally import build_http_client

ADMIN = "ops@vendor.example"


TRANSPORTS = ("httpcore", "aiohttp")


def client(transport: str) -> httpx.AsyncClient:
    if transport == "aiohttp":
        return build_http_client()
    # httpx's own pool as the worker configured it before: 100 connections, 16 kept idle.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=16)
    return httpx.AsyncClient(limits=limits, follow_redirects=False)


async def measure(
    base_url: str, headers: dict[str, str], requests: int, concurrency: int, transport: str
) -> None:
    async with client(transport) as http:
        slots = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with slots:
                response = await http.get(
                    f"{base_url}/resources/admins/search", params={"email": ADMIN}, headers=headers
                )
                response.raise_for_status()

        await asyncio.gather(*(one() for _ in range(min(200, requests))))  # warm the pool
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.gather(*(one() for _ in range(requests)))
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    print(
        f"{transport}: {requests} requests, {concurrency} at a time: "
        f"{requests / wall:.0f} requests/s; "
        f"client CPU {cpu / requests * 1000:.2f} ms per request "
        f"(ceiling {requests / cpu:.0f} requests per CPU-second)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.httpcost", description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--transport", choices=[*TRANSPORTS, "both"], default="both", help="default: both"
    )
    args = parser.parse_args(argv)
    with run_sandbox() as sandbox:
        sandbox.add_org(
            "bench", tokens=["bench-token"], admins=[{"email": ADMIN, "name": "Ops"}],
            rate_limit=NOT_BINDING,
        )  # fmt: skip
        headers = sandbox.auth_headers("bench-token")
        for transport in TRANSPORTS if args.transport == "both" else (args.transport,):
            asyncio.run(
                measure(sandbox.base_url, headers, args.requests, args.concurrency, transport)
            )


if __name__ == "__main__":
    main()
