"""The Unthread API routes the service uses: the users list, one conversation by id, the
conversations list and a conversation's messages list.

Each handler runs behind `gateway.ApiGateway`, which has already authenticated the tenant.
"""

from __future__ import annotations

from typing import Any

from sandboxkit.errors import not_found, parse_json
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from unthread_sandbox.gateway import API_PREFIX, authed_tenant
from unthread_sandbox.listing import ListRequest, list_page
from unthread_sandbox.render import conversation_json, message_json, user_json
from unthread_sandbox.state import Tenant


class ApiRoutes:
    """Handlers for `/api/...`."""

    def routes(self) -> list[Route]:
        return [
            Route(f"{API_PREFIX}/users/list", self.list_users, methods=["POST"]),
            Route(f"{API_PREFIX}/conversations/list", self.list_conversations, methods=["POST"]),
            Route(f"{API_PREFIX}/conversations/{{id}}", self.get_conversation, methods=["GET"]),
            Route(
                f"{API_PREFIX}/conversations/{{id}}/messages/list",
                self.list_messages,
                methods=["POST"],
            ),
        ]

    async def list_users(self, request: Request) -> JSONResponse:
        tenant = authed_tenant(request)
        query = parse_json(ListRequest, await request.body() or b"{}")
        users = (user_json(u) for u in tenant.users.values())
        return JSONResponse(list_page(users, query))

    async def get_conversation(self, request: Request) -> JSONResponse:
        tenant = authed_tenant(request)
        return JSONResponse(conversation_json(tenant, _conversation(tenant, request)))

    async def list_conversations(self, request: Request) -> JSONResponse:
        tenant = authed_tenant(request)
        query = parse_json(ListRequest, await request.body() or b"{}")
        records = (conversation_json(tenant, c) for c in tenant.conversations.values())
        return JSONResponse(list_page(records, query))

    async def list_messages(self, request: Request) -> JSONResponse:
        tenant = authed_tenant(request)
        conversation = _conversation(tenant, request)
        query = parse_json(ListRequest, await request.body() or b"{}")
        if query.order is None:
            # A thread reads in Slack order unless the caller asks otherwise.
            query = query.model_copy(update={"order": ["ts"]})
        thread = tenant.messages.get(conversation["id"], {}).values()
        return JSONResponse(list_page((message_json(tenant, m) for m in thread), query))


def _conversation(tenant: Tenant, request: Request) -> dict[str, Any]:
    stored = tenant.conversations.get(request.path_params["id"])
    if stored is None:
        # Another tenant's conversation is as absent as one that never existed.
        raise not_found("Conversation not found")
    return stored
