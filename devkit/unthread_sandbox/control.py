"""The control API under `/_sandbox`: seed tenants, inspect what clients did, bend behaviour.

No auth: it is for tests and demos on loopback, never for the service under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sandboxkit.errors import bad_request, conflict, not_found, parse_json
from sandboxkit.faults import FaultUpdate
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from unthread_sandbox.render import user_json
from unthread_sandbox.runtime import Sandbox
from unthread_sandbox.specs import ConversationSpec, KeysSpec, ResetSpec, TenantSpec, UserSpec
from unthread_sandbox.state import KeyTaken, Tenant

_LOG_LIMIT_MAX = 1000


class ControlRoutes:
    """Handlers for `/_sandbox/...`, bound to one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        tenant = "/_sandbox/tenants/{tenant}"
        return [
            Route("/_sandbox/health", self.health, methods=["GET"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            Route("/_sandbox/tenants", self.put_tenant, methods=["POST"]),
            Route(tenant, self.get_tenant, methods=["GET"]),
            Route(f"{tenant}/users", self.add_user, methods=["POST"]),
            Route(f"{tenant}/conversations", self.add_conversation, methods=["POST"]),
            Route(f"{tenant}/keys", self.put_keys, methods=["PUT"]),
            Route(f"{tenant}/stats", self.stats, methods=["GET"]),
            Route(f"{tenant}/faults", self.put_tenant_faults, methods=["PUT"]),
            Route("/_sandbox/faults", self.get_faults, methods=["GET"]),
            Route("/_sandbox/faults", self.put_faults, methods=["PUT"]),
            Route("/_sandbox/requests", self.requests, methods=["GET"]),
        ]

    async def health(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def reset(self, request: Request) -> JSONResponse:
        raw = await request.body()
        spec = parse_json(ResetSpec, raw) if raw.strip() else ResetSpec()
        self.sandbox.reset(reseed=spec.reseed)
        return JSONResponse({"status": "reset", "tenants": sorted(self.sandbox.store.tenants)})

    async def put_tenant(self, request: Request) -> JSONResponse:
        spec = parse_json(TenantSpec, await request.body())
        with _as_conflict():
            tenant = self.sandbox.store.put_tenant(spec)
        return self._tenant_response(tenant)

    async def get_tenant(self, request: Request) -> JSONResponse:
        return self._tenant_response(self._tenant(request))

    async def add_user(self, request: Request) -> JSONResponse:
        tenant = self._tenant(request)
        user = self.sandbox.store.add_user(tenant, parse_json(UserSpec, await request.body()))
        return JSONResponse(user_json(user), status_code=201)

    async def add_conversation(self, request: Request) -> JSONResponse:
        tenant = self._tenant(request)
        spec = parse_json(ConversationSpec, await request.body())
        return JSONResponse(self.sandbox.store.add_conversation(tenant, spec), status_code=201)

    async def put_keys(self, request: Request) -> JSONResponse:
        tenant = self._tenant(request)
        spec = parse_json(KeysSpec, await request.body())
        with _as_conflict():
            self.sandbox.store.set_keys(tenant, spec.keys)
        return self._tenant_response(tenant)

    async def stats(self, request: Request) -> JSONResponse:
        tenant = self._tenant(request)
        return JSONResponse(
            {
                "requests": tenant.stats.requests,
                "byStatus": dict(tenant.stats.by_status),
                "byRoute": dict(tenant.stats.by_route),
            }
        )

    async def get_faults(self, request: Request) -> JSONResponse:
        tenants = self.sandbox.store.tenants.items()
        overrides = {tid: t.fault_override for tid, t in tenants if t.fault_override}
        return JSONResponse({"global": self.sandbox.faults.model_dump(), "tenants": overrides})

    async def put_faults(self, request: Request) -> JSONResponse:
        update = parse_json(FaultUpdate, await request.body())
        return JSONResponse(self.sandbox.update_faults(update).model_dump())

    async def put_tenant_faults(self, request: Request) -> JSONResponse:
        tenant = self._tenant(request)
        update = parse_json(FaultUpdate, await request.body())
        effective = self.sandbox.update_tenant_faults(tenant, update)
        return JSONResponse(
            {"override": tenant.fault_override, "effective": effective.model_dump()}
        )

    async def requests(self, request: Request) -> JSONResponse:
        query = request.query_params
        limit = _log_limit(query.get("limit"))
        entries = self.sandbox.log.recent(org=query.get("tenant"), limit=limit)
        return JSONResponse([e.to_json() for e in entries])

    def _tenant(self, request: Request) -> Tenant:
        tenant = self.sandbox.store.tenants.get(request.path_params["tenant"])
        if tenant is None:
            raise not_found("Tenant not found")
        return tenant

    def _tenant_response(self, tenant: Tenant) -> JSONResponse:
        # Keys are named by count only: the control API never echoes a credential.
        return JSONResponse(
            {
                "id": tenant.id,
                "keys": len(tenant.keys),
                "rateLimit": self.sandbox.config_for(tenant).rate_limit,
                "users": [user_json(u) for u in tenant.users.values()],
                "conversations": sorted(tenant.conversations),
            }
        )


@contextmanager
def _as_conflict() -> Iterator[None]:
    try:
        yield
    except KeyTaken as exc:
        raise conflict(str(exc)) from exc


def _log_limit(raw: str | None) -> int:
    if raw is None:
        return 100
    try:
        limit = int(raw)
    except ValueError:
        raise bad_request("limit must be an integer") from None
    if not 1 <= limit <= _LOG_LIMIT_MAX:
        raise bad_request(f"limit must be between 1 and {_LOG_LIMIT_MAX}")
    return limit
