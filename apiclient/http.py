"""The HTTP client every API client runs on: one per API, shared by all tenants.

Every timeout stays well under Kafka's 60 s rebalance timeout, so one slow call cannot hold a
partition through a rebalance. `timeout` bounds each phase and the whole call
(`apiclient.transport.PooledTransport`, aiohttp's pool). Redirects are not followed: a
redirect would carry a tenant's key to a host it was not meant for. Cookies are neither kept
nor sent: tenants share the client and often one host, so a cookie set in answer to one
tenant's call would go out with the next tenant's. Idle connections are kept for reuse.
"""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Any

import httpx

from apiclient.transport import PooledTransport


def build_http_client(timeout: float = 10.0, max_connections: int = 100) -> httpx.AsyncClient:
    """The shared HTTP client for all tenants of one API, on aiohttp's connection pool."""
    if not 0 < timeout <= 30:
        raise ValueError("timeout must be in (0, 30] seconds")
    return httpx.AsyncClient(
        transport=PooledTransport(max_connections=max_connections, deadline_seconds=timeout),
        timeout=httpx.Timeout(connect=min(timeout, 5.0), read=timeout, write=timeout, pool=timeout),
        follow_redirects=False,
        cookies=_NoCookies(),
        headers={"User-Agent": "vitally-sync"},
    )


class _NoCookies(CookieJar):
    """A jar that keeps nothing (and skips parsing what it would not keep)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None
