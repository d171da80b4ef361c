"""The HTTP client every API client runs on: one per API, shared by all tenants.

Every timeout stays well under Kafka's 60 s rebalance timeout, so one slow call cannot hold a
partition through a rebalance. `timeout` bounds each phase and the whole call
(`apiclient.transport.PooledTransport`, aiohttp's pool). Redirects are not followed: a
redirect would carry a tenant's key to a host it was not meant for. Cookies are neither kept
nor sent: tenants share the client and often one host, so a cookie set in answer to one
tenant's call would go out with the next tenant's. Idle connections are kept for reuse.

The API clients send through :func:`send`, on the client's transport, not through
`httpx.AsyncClient.send`: the worker makes about one call per event, and the client's send
steps (auth flow, redirects, cookies, event hooks, a timed stream around the answer), none of
which these calls use, cost about as much CPU as the rest of httpx's work per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from http.cookiejar import Cookie, CookieJar

import httpx

from apiclient.transport import PooledTransport

Params = Mapping[str, str | int]


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    params: Params | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """One request on ``http``'s transport, its answer read. What of the client applies to
    these calls is kept: its default headers and timeouts, and the transport it would choose
    for the URL (a proxy from the environment included). Redirects are not followed, nor
    cookies kept, as with :func:`build_http_client`'s client."""
    ours = {name.lower() for name in headers}
    merged = [*((k, v) for k, v in http.headers.items() if k not in ours), *headers.items()]
    request = httpx.Request(
        method, _parsed(url), params=params, headers=merged, content=content,
        extensions={"timeout": http.timeout.as_dict()},
    )  # fmt: skip
    # The client's choice of transport for a URL has no public name; it is what its own
    # send uses, so mounts and environment proxies behave as they would there.
    transport = http._transport_for_url(request.url)  # noqa: SLF001
    response = await transport.handle_async_request(request)
    response.request = request
    await response.aread()
    return response


@lru_cache(maxsize=4096)
def _parsed(url: str) -> httpx.URL:
    # A conversation's messages all go to one URL; httpx parses a URL string in ~18 µs.
    return httpx.URL(url)


def build_http_client(timeout: float = 10.0, max_connections: int = 100) -> httpx.AsyncClient:
    """The shared HTTP client for all tenants of one API, on aiohttp's connection pool."""
    if not 0 < timeout <= 30:
        raise ValueError("timeout must be in (0, 30] seconds")
    return httpx.AsyncClient(
        transport=PooledTransport(max_connections=max_connections, deadline_seconds=timeout),
        timeout=httpx.Timeout(connect=min(timeout, 5.0), read=timeout, write=timeout, pool=timeout),
        follow_redirects=False,
        cookies=_NoJar(),
        headers={"User-Agent": "vitally-sync"},
    )


class _NoJar(CookieJar):
    """A jar that keeps nothing."""

    def set_cookie(self, cookie: Cookie) -> None:
        return None
