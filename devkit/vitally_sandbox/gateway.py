"""The path every /resources request takes before and after its route, in this order:

1. roll the request's faults and wait out its latency (even a failing request is slow);
2. an outage or an injected error answers at once, before auth and before any effect;
3. auth: no header -> 401 "Authorization header not present.", anything else unknown -> 401;
4. the org's sliding window: full -> 429 (not counted), otherwise the request is counted;
5. the token's scopes: missing the resource's scope -> 403;
6. the route runs; an "ambiguous" POST keeps its effect but its 2xx answer becomes a 500.

Every answer carries the `RateLimit-*` headers and is logged and counted for its org.
"""

from __future__ import annotations

import http.client
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandboxkit.faults import FaultConfig, Verdict
from sandboxkit.ratelimit import Quota, fresh_quota
from sandboxkit.requestlog import LogEntry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitally_sandbox.auth import (
    FORBIDDEN,
    MISSING_HEADER,
    UNAUTHORIZED,
    fingerprint,
    token_from_header,
)
from vitally_sandbox.runtime import Sandbox
from vitally_sandbox.specs import Scope as TokenScope
from vitally_sandbox.state import Org

ORG_KEY = "vitally_sandbox.org"
_RESOURCE_SCOPES: dict[str, TokenScope] = {
    "users": "users",
    "admins": "admins",
    "conversations": "conversations",
}


def authed_org(request: Request) -> Org:
    """The org the gateway authenticated for this request."""
    org = request.scope.get(ORG_KEY)
    if not isinstance(org, Org):
        raise RuntimeError("a /resources route ran without the gateway")
    return org


def is_resource_path(path: str) -> bool:
    return path == "/resources" or path.startswith("/resources/")


def required_scope(path: str) -> TokenScope | None:
    parts = path.split("/")
    return _RESOURCE_SCOPES.get(parts[2]) if len(parts) > 2 else None


@dataclass(frozen=True)
class _Caller:
    """Who a request says it is: the raw header, the token in it, and the org it opens."""

    header: str | None
    token: str | None
    org: Org | None

    def may_use(self, path: str) -> bool:
        needed = required_scope(path)
        if needed is None:
            return True
        return self.org is not None and needed in self.org.tokens.get(self.token or "", ())


class ResourceGateway:
    """ASGI middleware that puts auth, rate limits and faults in front of the Vitally routes."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.sandbox = sandbox
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_resource_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        caller = self._identify(scope)
        config = self.sandbox.config_for(caller.org)
        verdict = self.sandbox.injector.decide(
            config, now=self.sandbox.clock.now(), method=scope["method"]
        )
        if verdict.delay_s > 0:
            await self.sandbox.sleep(verdict.delay_s)
        response = await self._answer(scope, receive, caller, config, verdict)
        await response(scope, receive, send)
        self._record(scope, response.status_code, caller)

    def _identify(self, scope: Scope) -> _Caller:
        header = Request(scope).headers.get("authorization")
        token = token_from_header(header) if header is not None else None
        org = self.sandbox.store.org_for_token(token) if token else None
        return _Caller(header, token, org)

    async def _answer(
        self, scope: Scope, receive: Receive, caller: _Caller, config: FaultConfig, verdict: Verdict
    ) -> Response:
        now, limit, org = self.sandbox.clock.now(), config.rate_limit, caller.org
        if verdict.fail_status is not None:
            quota = org.window.peek(now, limit) if org else fresh_quota(limit)
            return _json(verdict.fail_status, {"error": _phrase(verdict.fail_status)}, quota)
        if org is None:
            refusal = MISSING_HEADER if caller.header is None else UNAUTHORIZED
            return _json(401, refusal, fresh_quota(limit))
        allowed, quota = org.window.acquire(now, limit)
        if not allowed:
            # Retry-After is off by default: Vitally does not document it, and a client that
            # depends on it should find out here.
            extra = {"Retry-After": str(max(1, quota.reset))} if config.retry_after_header else {}
            return _json(429, {"error": "Too many requests"}, quota, extra)
        if not caller.may_use(scope["path"]):
            return _json(403, FORBIDDEN, quota)
        scope[ORG_KEY] = org
        return await self._route(scope, receive, quota, ambiguous=verdict.ambiguous)

    async def _route(
        self, scope: Scope, receive: Receive, quota: Quota, *, ambiguous: bool
    ) -> Response:
        status, headers, body = await _capture(self.app, scope, receive)
        if ambiguous and 200 <= status < 300:
            return _json(500, {"error": _phrase(500)}, quota)
        response = Response(body, status_code=status)
        response.raw_headers = headers + _encode(quota.headers())
        return response

    def _record(self, scope: Scope, status: int, caller: _Caller) -> None:
        method, path, org, token = scope["method"], scope["path"], caller.org, caller.token
        if org is not None:
            org.stats.record(status, f"{method} {self._route_template(scope)}")
        self.sandbox.log.append(
            LogEntry(
                method=method,
                path=path,
                status=status,
                org=org.subdomain if org else None,
                token_fingerprint=fingerprint(token) if token else None,
                at=self.sandbox.clock.now(),
            )
        )

    def _route_template(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return str(getattr(route, "path", scope["path"]))
        return "(unmatched)"


def _json(
    status: int, body: dict[str, str], quota: Quota, extra: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**quota.headers(), **(extra or {})})


def _phrase(status: int) -> str:
    return http.client.responses.get(status, "Error")


def _encode(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


async def _capture(
    app: ASGIApp, scope: Scope, receive: Receive
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run the route and keep its answer, so the gateway can add headers or replace it."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return int(start["status"]), list(start.get("headers", [])), b"".join(chunks)
