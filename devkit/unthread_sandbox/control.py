"""The control API under `/_sandbox`: seed tenants, inspect what clients did, bend behaviour.

No auth: it is for tests and demos on loopback, never for the service under test. What every
sandbox's control API has is `sandboxkit.control.BaseControlRoutes`; the rest is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandboxkit.clock import to_iso
from sandboxkit.control import BaseControlRoutes
from sandboxkit.errors import bad_request, not_found, parse_json
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from unthread_sandbox.render import user_json
from unthread_sandbox.runtime import Sandbox
from unthread_sandbox.specs import (
    ConversationSpec,
    KeysSpec,
    MessageEdit,
    MessageSpec,
    TenantSpec,
    UserSpec,
)
from unthread_sandbox.state import KeyTaken, Tenant

_LOG_LIMIT_MAX = 1000


class ControlRoutes(BaseControlRoutes[Sandbox, Tenant]):
    """Handlers for `/_sandbox/...`, bound to one sandbox."""

    plural = "tenants"
    singular = "tenant"
    id_param = "tenant"
    conflicts = (KeyTaken,)

    def tenants(self) -> Mapping[str, Tenant]:
        return self.sandbox.store.tenants

    def tenant_routes(self, tenant: str) -> list[Route]:
        return [
            Route("/_sandbox/tenants", self.put_tenant, methods=["POST"]),
            Route(tenant, self.get_tenant, methods=["GET"]),
            Route(f"{tenant}/users", self.add_user, methods=["POST"]),
            Route(f"{tenant}/conversations", self.add_conversation, methods=["POST"]),
            Route(f"{tenant}/conversations/{{cid}}", self.update_conversation, methods=["PATCH"]),
            Route(f"{tenant}/conversations/{{cid}}/messages", self.post_message, methods=["POST"]),
            Route(
                f"{tenant}/conversations/{{cid}}/messages/{{mid}}",
                self.edit_message,
                methods=["PATCH"],
            ),  # fmt: skip
            Route(
                f"{tenant}/conversations/{{cid}}/messages/{{mid}}",
                self.delete_message,
                methods=["DELETE"],
            ),  # fmt: skip
            Route(f"{tenant}/keys", self.put_keys, methods=["PUT"]),
        ]

    def log_limit(self, raw: str | None) -> int:
        if raw is None:
            return 100
        try:
            limit = int(raw)
        except ValueError:
            raise bad_request("limit must be an integer") from None
        if not 1 <= limit <= _LOG_LIMIT_MAX:
            raise bad_request(f"limit must be between 1 and {_LOG_LIMIT_MAX}")
        return limit

    async def put_tenant(self, request: Request) -> JSONResponse:
        spec = parse_json(TenantSpec, await request.body())
        with self.as_conflict():
            tenant = self.sandbox.store.put_tenant(spec)
        return self._tenant_response(tenant)

    async def get_tenant(self, request: Request) -> JSONResponse:
        return self._tenant_response(self.tenant(request))

    async def add_user(self, request: Request) -> JSONResponse:
        tenant = self.tenant(request)
        user = self.sandbox.store.add_user(tenant, parse_json(UserSpec, await request.body()))
        return JSONResponse(user_json(user), status_code=201)

    async def add_conversation(self, request: Request) -> JSONResponse:
        tenant = self.tenant(request)
        spec = parse_json(ConversationSpec, await request.body())
        return JSONResponse(self.sandbox.store.add_conversation(tenant, spec), status_code=201)

    async def update_conversation(self, request: Request) -> JSONResponse:
        """Change fields of a conversation as an agent would in Unthread (no event is sent:
        that is the point of the reconciliation tests)."""
        tenant, conversation = self._conversation(request)
        changes = await request.json()
        if not isinstance(changes, dict):
            raise bad_request("body must be a JSON object")
        updated = self.sandbox.store.update_conversation(tenant, conversation, changes, self._now())
        return JSONResponse(updated)

    async def post_message(self, request: Request) -> JSONResponse:
        tenant, conversation = self._conversation(request)
        spec = parse_json(MessageSpec, await request.body())
        message = self.sandbox.store.post_message(tenant, conversation, spec, self._now())
        return JSONResponse(message, status_code=201)

    async def edit_message(self, request: Request) -> JSONResponse:
        _, conversation, message = self._message(request)
        edit = parse_json(MessageEdit, await request.body())
        return JSONResponse(
            self.sandbox.store.edit_message(conversation, message, edit.text, self._now())
        )

    async def delete_message(self, request: Request) -> JSONResponse:
        _, conversation, message = self._message(request)
        return JSONResponse(self.sandbox.store.delete_message(conversation, message, self._now()))

    def _conversation(self, request: Request) -> tuple[Tenant, dict[str, Any]]:
        tenant = self.tenant(request)
        conversation = tenant.conversations.get(request.path_params["cid"])
        if conversation is None:
            raise not_found("Conversation not found")
        return tenant, conversation

    def _message(self, request: Request) -> tuple[Tenant, dict[str, Any], dict[str, Any]]:
        tenant, conversation = self._conversation(request)
        message = tenant.messages.get(conversation["id"], {}).get(request.path_params["mid"])
        if message is None:
            raise not_found("Message not found")
        return tenant, conversation, message

    def _now(self) -> str:
        return to_iso(self.sandbox.clock.now())

    async def put_keys(self, request: Request) -> JSONResponse:
        tenant = self.tenant(request)
        spec = parse_json(KeysSpec, await request.body())
        with self.as_conflict():
            self.sandbox.store.set_keys(tenant, spec.keys)
        return self._tenant_response(tenant)

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
