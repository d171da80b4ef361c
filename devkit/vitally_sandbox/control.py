"""The control API under `/_sandbox`: seed orgs, inspect what clients did, bend behaviour.

No auth: it is for tests and demos on loopback, never for the service under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sandboxkit.errors import bad_request, conflict, not_found, parse_json
from sandboxkit.faults import FaultUpdate
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vitally_sandbox.render import admin_json, conversation_json, org_json, user_json
from vitally_sandbox.runtime import Sandbox
from vitally_sandbox.specs import AdminSpec, OrgSpec, ResetSpec, TokensSpec, UserSpec
from vitally_sandbox.state import DuplicateId, Org, TokenTaken

_LOG_LIMIT_MAX = 1000


class ControlRoutes:
    """Handlers for `/_sandbox/...`, bound to one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def routes(self) -> list[Route]:
        org = "/_sandbox/orgs/{subdomain}"
        return [
            Route("/_sandbox/health", self.health, methods=["GET"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
            Route("/_sandbox/orgs", self.put_org, methods=["POST"]),
            Route(org, self.get_org, methods=["GET"]),
            Route(f"{org}/users", self.add_user, methods=["POST"]),
            Route(f"{org}/users/{{id}}", self.delete_user, methods=["DELETE"]),
            Route(f"{org}/admins", self.add_admin, methods=["POST"]),
            Route(f"{org}/admins/{{id}}", self.delete_admin, methods=["DELETE"]),
            Route(f"{org}/tokens", self.put_tokens, methods=["PUT"]),
            Route(f"{org}/conversations", self.conversations, methods=["GET"]),
            Route(f"{org}/stats", self.stats, methods=["GET"]),
            Route(f"{org}/faults", self.put_org_faults, methods=["PUT"]),
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
        return JSONResponse({"status": "reset", "orgs": sorted(self.sandbox.store.orgs)})

    async def put_org(self, request: Request) -> JSONResponse:
        spec = parse_json(OrgSpec, await request.body())
        with _as_conflict():
            org = self.sandbox.store.put_org(spec, self.sandbox.clock.now())
        return self._org_response(org)

    async def get_org(self, request: Request) -> JSONResponse:
        return self._org_response(self._org(request))

    async def add_user(self, request: Request) -> JSONResponse:
        org = self._org(request)
        spec = parse_json(UserSpec, await request.body())
        with _as_conflict():
            user = self.sandbox.store.add_user(org, spec, self.sandbox.clock.now())
        return JSONResponse(user_json(user), status_code=201)

    async def add_admin(self, request: Request) -> JSONResponse:
        org = self._org(request)
        spec = parse_json(AdminSpec, await request.body())
        with _as_conflict():
            admin = self.sandbox.store.add_admin(org, spec)
        return JSONResponse(admin_json(admin), status_code=201)

    async def delete_user(self, request: Request) -> Response:
        return _delete(self._org(request).users, request.path_params["id"], "User")

    async def delete_admin(self, request: Request) -> Response:
        return _delete(self._org(request).admins, request.path_params["id"], "Admin")

    async def put_tokens(self, request: Request) -> JSONResponse:
        org = self._org(request)
        spec = parse_json(TokensSpec, await request.body())
        with _as_conflict():
            self.sandbox.store.set_tokens(org, spec.tokens)
        return self._org_response(org)

    async def conversations(self, request: Request) -> JSONResponse:
        org = self._org(request)
        # Creation order, not Vitally's newest-first: tests read the history as it happened.
        stored = org.conversations.values()
        return JSONResponse([conversation_json(c, messages=True, control=True) for c in stored])

    async def stats(self, request: Request) -> JSONResponse:
        org = self._org(request)
        return JSONResponse(
            {
                "requests": org.stats.requests,
                "byStatus": dict(org.stats.by_status),
                "byRoute": dict(org.stats.by_route),
                "conversations": len(org.conversations),
                "messages": org.message_count(),
            }
        )

    async def get_faults(self, request: Request) -> JSONResponse:
        orgs = {s: o.fault_override for s, o in self.sandbox.store.orgs.items() if o.fault_override}
        return JSONResponse({"global": self.sandbox.faults.model_dump(), "orgs": orgs})

    async def put_faults(self, request: Request) -> JSONResponse:
        update = parse_json(FaultUpdate, await request.body())
        return JSONResponse(self.sandbox.update_faults(update).model_dump())

    async def put_org_faults(self, request: Request) -> JSONResponse:
        org = self._org(request)
        update = parse_json(FaultUpdate, await request.body())
        effective = self.sandbox.update_org_faults(org, update)
        return JSONResponse({"override": org.fault_override, "effective": effective.model_dump()})

    async def requests(self, request: Request) -> JSONResponse:
        query = request.query_params
        limit = _log_limit(query.get("limit"))
        entries = self.sandbox.log.recent(org=query.get("org"), limit=limit)
        return JSONResponse([e.to_json() for e in entries])

    def _org(self, request: Request) -> Org:
        org = self.sandbox.store.orgs.get(request.path_params["subdomain"])
        if org is None:
            raise not_found("Org not found")
        return org

    def _org_response(self, org: Org) -> JSONResponse:
        limit = self.sandbox.config_for(org).rate_limit
        return JSONResponse(org_json(org, rate_limit=limit))


def _delete(records: dict[str, Any], record_id: str, kind: str) -> Response:
    if records.pop(record_id, None) is None:
        raise not_found(f"{kind} not found")
    return Response(status_code=204)


def _log_limit(text: str | None) -> int:
    if text is None:
        return 100
    if not text.isdigit():
        raise bad_request("limit must be a non-negative integer")
    return min(int(text), _LOG_LIMIT_MAX)


@contextmanager
def _as_conflict() -> Iterator[None]:
    """Turn the store's id and token clashes into 409 answers."""
    try:
        yield
    except (TokenTaken, DuplicateId) as exc:
        raise conflict(str(exc)) from exc
