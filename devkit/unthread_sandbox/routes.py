"""The Unthread API routes the service uses: the users list and one conversation by id.

Each handler runs behind `gateway.ApiGateway`, which has already authenticated the tenant.
"""

from __future__ import annotations

from sandboxkit.errors import not_found, parse_json
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from unthread_sandbox.gateway import API_PREFIX, authed_tenant
from unthread_sandbox.listing import ListRequest, list_page
from unthread_sandbox.render import conversation_json, user_json


class ApiRoutes:
    """Handlers for `/api/...`."""

    def routes(self) -> list[Route]:
        return [
            Route(f"{API_PREFIX}/users/list", self.list_users, methods=["POST"]),
            Route(f"{API_PREFIX}/conversations/{{id}}", self.get_conversation, methods=["GET"]),
        ]

    async def list_users(self, request: Request) -> JSONResponse:
        tenant = authed_tenant(request)
        query = parse_json(ListRequest, await request.body() or b"{}")
        users = (user_json(u) for u in tenant.users.values())
        return JSONResponse(list_page(users, query))

    async def get_conversation(self, request: Request) -> JSONResponse:
        tenant = authed_tenant(request)
        stored = tenant.conversations.get(request.path_params["id"])
        if stored is None:
            # Another tenant's conversation is as absent as one that never existed.
            raise not_found("Conversation not found")
        return JSONResponse(conversation_json(tenant, stored))
