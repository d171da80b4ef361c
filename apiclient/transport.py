"""The connection pool under every API client: aiohttp's, behind httpx's API.

The worker makes about one API call per event, so the HTTP client's CPU per request
bounds a worker's events per second at low latency. httpx's own pool (httpcore, pure Python)
costs ~0.75-1.35 ms of CPU per request here, aiohttp's (a C parser, a per-host deque of idle
connections) ~0.3-0.45 ms (`python -m bench.httpcost --transport httpcore|aiohttp`).
httpx-aiohttp puts aiohttp under httpx, so requests, responses, errors and the unit tests'
`httpx.MockTransport` stay httpx's.

Three things are ours:
- Which failures prove a request was never sent. httpx-aiohttp maps every aiohttp connection
  error to `httpx.ConnectTimeout`, including a connection the server dropped after reading a
  POST, and lets some aiohttp errors through unmapped. A maybe-applied create must never look
  like "never sent" (`apiclient.call.ApiCall.request_error` would let it be re-posted), so every
  failure, the body read included, leaves here as an httpx error that says which it was.
- A deadline on the whole call. aiohttp times each phase (connect, each read) but not the
  write of a request body to a peer that stopped reading, nor a body that arrives a byte at a
  time; one call must not hold a partition past Kafka's rebalance timeout.
- A failed response is closed, so that its connection leaves the pool's count: an unclosed
  aiohttp response holds its slot for as long as the peer keeps the socket open.
"""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

KEEPALIVE_EXPIRY_SECONDS = 30.0


class PooledTransport(AiohttpTransport):
    """httpx's transport over aiohttp's connection pool, with a deadline on the whole call."""

    def __init__(self, max_connections: int, deadline_seconds: float) -> None:
        super().__init__(client=lambda: _session(max_connections))
        self._deadline = deadline_seconds

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(self._deadline):
                response = await super().handle_async_request(request)
                # Read here, so that a failure while reading the body is sorted like the others.
                await response.aread()
        except BaseException as exc:
            if response is not None:
                with contextlib.suppress(Exception):
                    await response.aclose()
            if isinstance(exc, httpx.TransportError):
                raise _sorted(exc, exc.__cause__, request) from exc
            if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
                raise _sorted(None, exc, request) from exc
            raise
        return response


def _session(max_connections: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=max_connections,
        keepalive_timeout=KEEPALIVE_EXPIRY_SECONDS,
        ssl=httpx.create_ssl_context(),
    )
    # No trust_env: aiohttp would re-read the proxy variables on every request (~0.5 ms of
    # CPU each, as much as the rest of the request); the APIs are called directly.
    # Cookies are the httpx client's concern (it keeps none): aiohttp's own jar stays empty.
    return aiohttp.ClientSession(
        connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
    )


def _sorted(
    mapped: httpx.TransportError | None, cause: BaseException | None, request: httpx.Request
) -> httpx.TransportError:
    message = str(mapped or cause or "transport error")
    if isinstance(cause, aiohttp.ClientProxyConnectionError):
        return httpx.ProxyError(message, request=request)
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        # aiohttp's connect timeout covers waiting for a pooled connection and connecting.
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(cause, asyncio.TimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if mapped is None or isinstance(mapped, httpx.ConnectError | httpx.ConnectTimeout):
        # Connected, then failed: the request may have reached the server.
        return httpx.RemoteProtocolError(message, request=request)
    return mapped
