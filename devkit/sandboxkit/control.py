"""The control API under `/_sandbox` that every sandbox has: health, reset, fault settings
(global and per tenant), a tenant's request counts and the request log.

No auth: it is for tests and demos on loopback, never for the service under test. Each
sandbox adds its own routes for seeding and inspecting its tenants (`tenant_routes`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandboxkit.errors import conflict, not_found, parse_json
from sandboxkit.faults import FaultUpdate
from sandboxkit.requestlog import OrgStats
from sandboxkit.runtime import BaseSandbox
from sandboxkit.specs import ResetSpec


class Tenant(Protocol):
    stats: OrgStats
    fault_override: dict[str, Any]


SandboxT = TypeVar("SandboxT", bound=BaseSandbox[Any, Any, Any])
TenantT = TypeVar("TenantT", bound=Tenant)


class BaseControlRoutes(Generic[SandboxT, TenantT]):
    """Handlers for `/_sandbox/...`, bound to one sandbox."""

    # What the sandbox calls its tenants: in paths and answers ("orgs"), in the request log's
    # filter ("org"), in a 404 ("Org not found"); and the path parameter that names one.
    plural: ClassVar[str]
    singular: ClassVar[str]
    id_param: ClassVar[str]
    # The store's clashes that are answered with 409.
    conflicts: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self, sandbox: SandboxT) -> None:
        self.sandbox = sandbox

    def tenants(self) -> Mapping[str, TenantT]:
        raise NotImplementedError

    def tenant_routes(self, tenant: str) -> list[Route]:
        """The sandbox's own routes; `tenant` is the path of one tenant."""
        raise NotImplementedError

    def log_limit(self, raw: str | None) -> int:
        """How many request log entries `?limit=` asks for."""
        raise NotImplementedError

    def routes(self) -> list[Route]:
        tenant = f"/_sandbox/{self.plural}/{{{self.id_param}}}"
        return [
            Route("/_sandbox/health", self.health, methods=["GET"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            *self.tenant_routes(tenant),
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
        return JSONResponse({"status": "reset", self.plural: sorted(self.tenants())})

    async def stats(self, request: Request) -> JSONResponse:
        return JSONResponse(self.stats_json(self.tenant(request)))

    def stats_json(self, tenant: TenantT) -> dict[str, Any]:
        return {
            "requests": tenant.stats.requests,
            "byStatus": dict(tenant.stats.by_status),
            "byRoute": dict(tenant.stats.by_route),
        }

    async def get_faults(self, request: Request) -> JSONResponse:
        tenants = self.tenants().items()
        overrides = {name: t.fault_override for name, t in tenants if t.fault_override}
        return JSONResponse({"global": self.sandbox.faults.model_dump(), self.plural: overrides})

    async def put_faults(self, request: Request) -> JSONResponse:
        update = parse_json(FaultUpdate, await request.body())
        return JSONResponse(self.sandbox.update_faults(update).model_dump())

    async def put_tenant_faults(self, request: Request) -> JSONResponse:
        tenant = self.tenant(request)
        update = parse_json(FaultUpdate, await request.body())
        effective = self.sandbox.update_tenant_faults(tenant, update)
        return JSONResponse(
            {"override": tenant.fault_override, "effective": effective.model_dump()}
        )

    async def requests(self, request: Request) -> JSONResponse:
        query = request.query_params
        limit = self.log_limit(query.get("limit"))
        entries = self.sandbox.log.recent(org=query.get(self.singular), limit=limit)
        return JSONResponse([e.to_json() for e in entries])

    def tenant(self, request: Request) -> TenantT:
        tenant = self.tenants().get(request.path_params[self.id_param])
        if tenant is None:
            raise not_found(f"{self.singular.capitalize()} not found")
        return tenant

    @contextmanager
    def as_conflict(self) -> Iterator[None]:
        """Turn the store's clashes (`conflicts`) into 409 answers."""
        try:
            yield
        except self.conflicts as exc:
            raise conflict(str(exc)) from exc
