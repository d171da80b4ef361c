"""What every sandbox's gateway does around its API routes, in this order:

1. roll the request's faults and wait out its latency (even a failing request is slow);
2. the sandbox's own `answer`: faults, auth, the rate limit, the route;
3. log the answer and count it for the caller's tenant, by route template.

Each sandbox's gateway says who the caller is (`identify`) and how it answers (`answer`).
"""

from __future__ import annotations

import hashlib
import http.client
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from sandboxkit.clock import Clock, Sleeper
from sandboxkit.faults import FaultConfig, FaultInjector, Verdict
from sandboxkit.requestlog import LogEntry, OrgStats, RequestLog


class Tenant(Protocol):
    stats: OrgStats


TenantT = TypeVar("TenantT", bound=Tenant)
TenantIn = TypeVar("TenantIn", bound=Tenant, contravariant=True)


class Runtime(Protocol[TenantIn]):
    """What the gateway uses of the running sandbox (`sandboxkit.runtime.BaseSandbox`)."""

    clock: Clock
    sleep: Sleeper
    injector: FaultInjector
    log: RequestLog

    def config_for(self, tenant: TenantIn | None) -> FaultConfig: ...


@dataclass(frozen=True)
class Caller(Generic[TenantT]):
    """Who a request says it is: the credential it sent, the tenant that opens (if any), and
    that tenant's name in the request log."""

    credential: str | None
    tenant: TenantT | None
    name: str | None


CallerT = TypeVar("CallerT", bound=Caller[Any])


class Gateway(Generic[TenantT, CallerT]):
    """ASGI middleware that puts faults, auth and the rate limit in front of the API routes
    (the paths under `prefix`)."""

    prefix: ClassVar[str]

    def __init__(self, app: ASGIApp, sandbox: Runtime[TenantT], routes: Sequence[BaseRoute]):
        self.app = app
        self.sandbox = sandbox
        self.routes = routes

    def is_api_path(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        caller = self.identify(scope)
        config = self.sandbox.config_for(caller.tenant)
        verdict = self.sandbox.injector.decide(
            config, now=self.sandbox.clock.now(), method=scope["method"]
        )
        if verdict.delay_s > 0:
            await self.sandbox.sleep(verdict.delay_s)
        status = await self.answer(scope, receive, send, caller, config, verdict)
        self._record(scope, status, caller)

    def identify(self, scope: Scope) -> CallerT:
        raise NotImplementedError

    async def answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        caller: CallerT,
        config: FaultConfig,
        verdict: Verdict,
    ) -> int:
        """Answer the request (refuse it, or run its route); the status it was answered with."""
        raise NotImplementedError

    def _record(self, scope: Scope, status: int, caller: CallerT) -> None:
        method, path, tenant, credential = (
            scope["method"],
            scope["path"],
            caller.tenant,
            caller.credential,
        )
        if tenant is not None:
            tenant.stats.record(status, f"{method} {self._route_template(scope)}")
        self.sandbox.log.append(
            LogEntry(
                method=method,
                path=path,
                status=status,
                org=caller.name,
                token_fingerprint=fingerprint(credential) if credential else None,
                at=self.sandbox.clock.now(),
            )
        )

    def _route_template(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return str(getattr(route, "path", scope["path"]))
        return "(unmatched)"


def fingerprint(credential: str) -> str:
    """A short stable name for a token or key that is safe to log: sha256 hex, first 12 chars."""
    return hashlib.sha256(credential.encode()).hexdigest()[:12]


def phrase(status: int) -> str:
    return http.client.responses.get(status, "Error")
