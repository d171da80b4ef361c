"""The path every /resources request takes before and after its route, in this order
(`sandboxkit.gateway.Gateway` runs 1 and the logging; the rest is here):

1. roll the request's faults and wait out its latency (even a failing request is slow);
2. an outage or an injected error answers at once, before auth and before any effect;
3. auth: no header -> 401 "Authorization header not present.", anything else unknown -> 401;
4. the org's sliding window: full -> 429 (not counted), otherwise the request is counted;
5. the token's scopes: missing the resource's scope -> 403;
6. the route runs; an "ambiguous" POST keeps its effect but its 2xx answer becomes a 500.

Every answer carries the `RateLimit-*` headers and is logged and counted for its org.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandboxkit.faults import FaultConfig, Verdict
from sandboxkit.gateway import Caller, Gateway, phrase
from sandboxkit.ratelimit import Quota, fresh_quota
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitally_sandbox.auth import FORBIDDEN, MISSING_HEADER, UNAUTHORIZED, token_from_header
from vitally_sandbox.runtime import Sandbox
from vitally_sandbox.specs import Scope as TokenScope
from vitally_sandbox.state import Org

ORG_KEY = "vitally_sandbox.org"
_RESOURCE_SCOPES: dict[str, TokenScope] = {
    "users": "users",
    "admins": "admins",
    "conversations": "conversations",
    # A message is part of a conversation: the same scope reads and deletes it.
    "messages": "conversations",
}


def authed_org(request: Request) -> Org:
    """The org the gateway authenticated for this request."""
    org = request.scope.get(ORG_KEY)
    if not isinstance(org, Org):
        raise RuntimeError("a /resources route ran without the gateway")
    return org


def required_scope(path: str) -> TokenScope | None:
    parts = path.split("/")
    return _RESOURCE_SCOPES.get(parts[2]) if len(parts) > 2 else None


@dataclass(frozen=True)
class _Caller(Caller[Org]):
    """Who a request says it is: the token in its header, the org it opens, and the raw
    header."""

    header: str | None

    def may_use(self, path: str) -> bool:
        needed = required_scope(path)
        if needed is None:
            return True
        tokens = self.tenant.tokens if self.tenant is not None else {}
        return self.tenant is not None and needed in tokens.get(self.credential or "", ())


class ResourceGateway(Gateway[Org, _Caller]):
    """ASGI middleware that puts auth, rate limits and faults in front of the Vitally routes."""

    prefix = "/resources"
    sandbox: Sandbox

    def identify(self, scope: Scope) -> _Caller:
        header = Request(scope).headers.get("authorization")
        token = token_from_header(header) if header is not None else None
        org = self.sandbox.store.org_for_token(token) if token else None
        return _Caller(token, org, org.subdomain if org else None, header)

    async def answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        caller: _Caller,
        config: FaultConfig,
        verdict: Verdict,
    ) -> int:
        response = await self._answer(scope, receive, caller, config, verdict)
        await response(scope, receive, send)
        return response.status_code

    async def _answer(
        self, scope: Scope, receive: Receive, caller: _Caller, config: FaultConfig, verdict: Verdict
    ) -> Response:
        now, limit, org = self.sandbox.clock.now(), config.rate_limit, caller.tenant
        if verdict.fail_status is not None:
            quota = org.window.peek(now, limit) if org else fresh_quota(limit)
            return _json(verdict.fail_status, {"error": phrase(verdict.fail_status)}, quota)
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
            return _json(500, {"error": phrase(500)}, quota)
        response = Response(body, status_code=status)
        response.raw_headers = headers + _encode(quota.headers())
        return response


def _json(
    status: int, body: dict[str, str], quota: Quota, extra: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**quota.headers(), **(extra or {})})


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
