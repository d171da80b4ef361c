"""The path every /api request takes before its route, in this order:

1. roll the request's faults and wait out its latency (even a failing request is slow);
2. an outage or an injected error answers at once, before auth;
3. auth: no `X-Api-Key` -> 401, an unknown key -> 401, a disabled key -> 403;
4. the tenant's sliding window: full -> 429 (not counted; `Retry-After` in seconds when the
   `retry_after_header` fault setting is on), otherwise the request is counted;
5. the route runs.

Unthread documents no rate limit and no rate-limit headers, so none are sent on success: a
client must cope with a bare 429. Every answer is logged and counted for its tenant.
"""

from __future__ import annotations

import http.client
from collections.abc import Sequence
from dataclasses import dataclass

from sandboxkit.faults import FaultConfig, Verdict
from sandboxkit.requestlog import LogEntry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unthread_sandbox.auth import FORBIDDEN, KEY_HEADER, MISSING_KEY, UNAUTHORIZED, fingerprint
from unthread_sandbox.runtime import Sandbox
from unthread_sandbox.state import Tenant

API_PREFIX = "/api"
TENANT_KEY = "unthread_sandbox.tenant"


def authed_tenant(request: Request) -> Tenant:
    """The tenant the gateway authenticated for this request."""
    tenant = request.scope.get(TENANT_KEY)
    if not isinstance(tenant, Tenant):
        raise RuntimeError("an /api route ran without the gateway")
    return tenant


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


@dataclass(frozen=True)
class _Caller:
    key: str | None
    tenant: Tenant | None
    disabled: bool


class ApiGateway:
    """ASGI middleware that puts faults, auth and the rate limit in front of the API routes."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.sandbox = sandbox
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        caller = self._identify(scope)
        config = self.sandbox.config_for(caller.tenant)
        verdict = self.sandbox.injector.decide(
            config, now=self.sandbox.clock.now(), method=scope["method"]
        )
        if verdict.delay_s > 0:
            await self.sandbox.sleep(verdict.delay_s)
        refusal = self._refusal(caller, config, verdict)
        if refusal is None:
            scope[TENANT_KEY] = caller.tenant
            status = await self._route(scope, receive, send)
        else:
            await refusal(scope, receive, send)
            status = refusal.status_code
        self._record(scope, status, caller)

    def _identify(self, scope: Scope) -> _Caller:
        key = Request(scope).headers.get(KEY_HEADER)
        found = self.sandbox.store.tenant_for_key(key) if key else None
        if found is None:
            return _Caller(key, None, False)
        tenant, spec = found
        return _Caller(key, tenant, spec.disabled)

    def _refusal(self, caller: _Caller, config: FaultConfig, verdict: Verdict) -> Response | None:
        if verdict.fail_status is not None:
            return _json(verdict.fail_status, {"error": _phrase(verdict.fail_status)})
        if caller.tenant is None:
            return _json(401, MISSING_KEY if caller.key is None else UNAUTHORIZED)
        if caller.disabled:
            return _json(403, FORBIDDEN)
        allowed, quota = caller.tenant.window.acquire(self.sandbox.clock.now(), config.rate_limit)
        if not allowed:
            extra = {"Retry-After": str(max(1, quota.reset))} if config.retry_after_header else {}
            return _json(429, {"error": "Too many requests"}, extra)
        return None

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> int:
        status = 500

        async def keep_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, keep_status)
        return status

    def _record(self, scope: Scope, status: int, caller: _Caller) -> None:
        method, path, tenant, key = scope["method"], scope["path"], caller.tenant, caller.key
        if tenant is not None:
            tenant.stats.record(status, f"{method} {self._route_template(scope)}")
        self.sandbox.log.append(
            LogEntry(
                method=method,
                path=path,
                status=status,
                org=tenant.id if tenant else None,
                token_fingerprint=fingerprint(key) if key else None,
                at=self.sandbox.clock.now(),
            )
        )

    def _route_template(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return str(getattr(route, "path", scope["path"]))
        return "(unmatched)"


def _json(status: int, body: dict[str, str], headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def _phrase(status: int) -> str:
    return http.client.responses.get(status, "Error")
