"""The path every /api request takes before its route, in this order
(`sandboxkit.gateway.Gateway` runs 1 and the logging; the rest is here):

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

from dataclasses import dataclass

from sandboxkit.faults import FaultConfig, Verdict
from sandboxkit.gateway import Caller, Gateway, phrase
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from unthread_sandbox.auth import FORBIDDEN, KEY_HEADER, MISSING_KEY, UNAUTHORIZED
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


@dataclass(frozen=True)
class _Caller(Caller[Tenant]):
    disabled: bool


class ApiGateway(Gateway[Tenant, _Caller]):
    """ASGI middleware that puts faults, auth and the rate limit in front of the API routes."""

    prefix = API_PREFIX
    sandbox: Sandbox

    def identify(self, scope: Scope) -> _Caller:
        key = Request(scope).headers.get(KEY_HEADER)
        found = self.sandbox.store.tenant_for_key(key) if key else None
        if found is None:
            return _Caller(key, None, None, False)
        tenant, spec = found
        return _Caller(key, tenant, tenant.id, spec.disabled)

    async def answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        caller: _Caller,
        config: FaultConfig,
        verdict: Verdict,
    ) -> int:
        refusal = self._refusal(caller, config, verdict)
        if refusal is None:
            scope[TENANT_KEY] = caller.tenant
            return await self._route(scope, receive, send)
        await refusal(scope, receive, send)
        return refusal.status_code

    def _refusal(self, caller: _Caller, config: FaultConfig, verdict: Verdict) -> Response | None:
        if verdict.fail_status is not None:
            return _json(verdict.fail_status, {"error": phrase(verdict.fail_status)})
        if caller.tenant is None:
            return _json(401, MISSING_KEY if caller.credential is None else UNAUTHORIZED)
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


def _json(status: int, body: dict[str, str], headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)
