"""The sandbox's in-memory records: tenants and the keys, users and conversations they hold.

Records are mutated in place; the asyncio server runs one handler step at a time and no
handler awaits while changing them, so no locking is needed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sandboxkit.ratelimit import SlidingWindow
from sandboxkit.requestlog import OrgStats

from unthread_sandbox.specs import (
    ConversationSpec,
    KeySpec,
    MessageSpec,
    TenantSpec,
    UserSpec,
    key_specs,
)


class KeyTaken(ValueError):
    """An API key already opens another tenant."""


@dataclass
class Tenant:
    """One Unthread workspace: its keys, users, conversations, rate window and counters."""

    id: str
    keys: dict[str, KeySpec]
    rate_limit: int | None
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Messages by conversation id, then by message id, in the order they were posted.
    messages: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    window: SlidingWindow = field(default_factory=SlidingWindow)
    stats: OrgStats = field(default_factory=OrgStats)
    fault_override: dict[str, Any] = field(default_factory=dict)

    def user_by(self, name: str, value: str | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return next((u for u in self.users.values() if u.get(name) == value), None)


class Store:
    """Every tenant, and which tenant each API key opens."""

    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}

    def clear(self) -> None:
        self.tenants.clear()

    def tenant_for_key(self, key: str) -> tuple[Tenant, KeySpec] | None:
        for tenant in self.tenants.values():
            spec = tenant.keys.get(key)
            if spec is not None:
                return tenant, spec
        return None

    def put_tenant(self, spec: TenantSpec) -> Tenant:
        keys = self._claim(key_specs(spec.keys), spec.id)
        tenant = Tenant(id=spec.id, keys=keys, rate_limit=spec.rate_limit)
        for user in spec.users:
            self.add_user(tenant, user)
        for conversation in spec.conversations:
            self.add_conversation(tenant, conversation)
        self.tenants[spec.id] = tenant
        return tenant

    def set_keys(self, tenant: Tenant, keys: list[str | KeySpec]) -> None:
        tenant.keys = self._claim(key_specs(keys), tenant.id)

    def add_user(self, tenant: Tenant, spec: UserSpec) -> dict[str, Any]:
        user = spec.model_dump(mode="json", by_alias=True)
        user["id"] = spec.id or str(uuid.uuid4())
        tenant.users[user["id"]] = user
        return user

    def add_conversation(self, tenant: Tenant, spec: ConversationSpec) -> dict[str, Any]:
        conversation = spec.fields()
        tenant.conversations[spec.id] = conversation
        # The thread starts with its initial message, as Unthread lists it.
        thread: dict[str, dict[str, Any]] = {}
        initial = conversation.get("initialMessage")
        if isinstance(initial, dict) and isinstance(initial.get("id"), str):
            thread[initial["id"]] = {**initial, "conversationId": spec.id}
        tenant.messages[spec.id] = thread
        return conversation

    def update_conversation(
        self, tenant: Tenant, conversation: dict[str, Any], changes: dict[str, Any], now: str
    ) -> dict[str, Any]:
        """Apply `changes` (never the id) and stamp `updatedAt` unless the changes set it."""
        conversation.update({k: v for k, v in changes.items() if k != "id"})
        if "updatedAt" not in changes:
            conversation["updatedAt"] = now
        return conversation

    def post_message(
        self, tenant: Tenant, conversation: dict[str, Any], spec: MessageSpec, now: str
    ) -> dict[str, Any]:
        """Add a message to the end of the thread; the conversation counts as updated."""
        message = spec.fields()
        message["conversationId"] = conversation["id"]
        message.setdefault("timestamp", now)
        tenant.messages.setdefault(conversation["id"], {})[spec.id] = message
        conversation["updatedAt"] = now
        return message

    def edit_message(
        self, conversation: dict[str, Any], message: dict[str, Any], text: str, now: str
    ) -> dict[str, Any]:
        message["text"] = text
        message["updatedAt"] = now
        conversation["updatedAt"] = now
        return message

    def delete_message(
        self, conversation: dict[str, Any], message: dict[str, Any], now: str
    ) -> dict[str, Any]:
        # Unthread keeps a deleted message in the thread, marked by `deletedAt`, text gone.
        message["text"] = ""
        message["deletedAt"] = now
        conversation["updatedAt"] = now
        return message

    def _claim(self, keys: list[KeySpec], tenant_id: str) -> dict[str, KeySpec]:
        for spec in keys:
            owner = self.tenant_for_key(spec.key)
            if owner is not None and owner[0].id != tenant_id:
                raise KeyTaken(f"that key already opens tenant {owner[0].id}")
        return {spec.key: spec for spec in keys}
