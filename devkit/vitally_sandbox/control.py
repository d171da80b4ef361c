"""The control API under `/_sandbox`: seed orgs, inspect what clients did, bend behaviour.

No auth: it is for tests and demos on loopback, never for the service under test. What every
sandbox's control API has is `sandboxkit.control.BaseControlRoutes`; the rest is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandboxkit.control import BaseControlRoutes
from sandboxkit.errors import bad_request, not_found, parse_json
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vitally_sandbox.render import admin_json, conversation_json, org_json, user_json
from vitally_sandbox.runtime import Sandbox
from vitally_sandbox.specs import AdminSpec, OrgSpec, TokensSpec, UserSpec
from vitally_sandbox.state import DuplicateId, Org, TokenTaken

_LOG_LIMIT_MAX = 1000


class ControlRoutes(BaseControlRoutes[Sandbox, Org]):
    """Handlers for `/_sandbox/...`, bound to one sandbox."""

    plural = "orgs"
    singular = "org"
    id_param = "subdomain"
    conflicts = (TokenTaken, DuplicateId)

    def tenants(self) -> Mapping[str, Org]:
        return self.sandbox.store.orgs

    def tenant_routes(self, org: str) -> list[Route]:
        return [
            Route("/_sandbox/orgs", self.put_org, methods=["POST"]),
            Route(org, self.get_org, methods=["GET"]),
            Route(f"{org}/users", self.add_user, methods=["POST"]),
            Route(f"{org}/users/{{id}}", self.delete_user, methods=["DELETE"]),
            Route(f"{org}/admins", self.add_admin, methods=["POST"]),
            Route(f"{org}/admins/{{id}}", self.delete_admin, methods=["DELETE"]),
            Route(f"{org}/tokens", self.put_tokens, methods=["PUT"]),
            Route(f"{org}/conversations", self.conversations, methods=["GET"]),
        ]

    def log_limit(self, raw: str | None) -> int:
        if raw is None:
            return 100
        if not raw.isdigit():
            raise bad_request("limit must be a non-negative integer")
        return min(int(raw), _LOG_LIMIT_MAX)

    async def put_org(self, request: Request) -> JSONResponse:
        spec = parse_json(OrgSpec, await request.body())
        with self.as_conflict():
            org = self.sandbox.store.put_org(spec, self.sandbox.clock.now())
        return self._org_response(org)

    async def get_org(self, request: Request) -> JSONResponse:
        return self._org_response(self.tenant(request))

    async def add_user(self, request: Request) -> JSONResponse:
        org = self.tenant(request)
        spec = parse_json(UserSpec, await request.body())
        with self.as_conflict():
            user = self.sandbox.store.add_user(org, spec, self.sandbox.clock.now())
        return JSONResponse(user_json(user), status_code=201)

    async def add_admin(self, request: Request) -> JSONResponse:
        org = self.tenant(request)
        spec = parse_json(AdminSpec, await request.body())
        with self.as_conflict():
            admin = self.sandbox.store.add_admin(org, spec)
        return JSONResponse(admin_json(admin), status_code=201)

    async def delete_user(self, request: Request) -> Response:
        return _delete(self.tenant(request).users, request.path_params["id"], "User")

    async def delete_admin(self, request: Request) -> Response:
        return _delete(self.tenant(request).admins, request.path_params["id"], "Admin")

    async def put_tokens(self, request: Request) -> JSONResponse:
        org = self.tenant(request)
        spec = parse_json(TokensSpec, await request.body())
        with self.as_conflict():
            self.sandbox.store.set_tokens(org, spec.tokens)
        return self._org_response(org)

    async def conversations(self, request: Request) -> JSONResponse:
        org = self.tenant(request)
        # Creation order, not Vitally's newest-first: tests read the history as it happened.
        stored = org.conversations.values()
        return JSONResponse([conversation_json(c, messages=True, control=True) for c in stored])

    def stats_json(self, tenant: Org) -> dict[str, Any]:
        stats = super().stats_json(tenant)
        return {
            **stats,
            "conversations": len(tenant.conversations),
            "messages": tenant.message_count(),
        }

    def _org_response(self, org: Org) -> JSONResponse:
        limit = self.sandbox.config_for(org).rate_limit
        return JSONResponse(org_json(org, rate_limit=limit))


def _delete(records: dict[str, Any], record_id: str, kind: str) -> Response:
    if records.pop(record_id, None) is None:
        raise not_found(f"{kind} not found")
    return Response(status_code=204)
