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

from unthread_sandbox.specs import ConversationSpec, KeySpec, TenantSpec, UserSpec, key_specs


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
        return conversation

    def _claim(self, keys: list[KeySpec], tenant_id: str) -> dict[str, KeySpec]:
        for spec in keys:
            owner = self.tenant_for_key(spec.key)
            if owner is not None and owner[0].id != tenant_id:
                raise KeyTaken(f"that key already opens tenant {owner[0].id}")
        return {spec.key: spec for spec in keys}
