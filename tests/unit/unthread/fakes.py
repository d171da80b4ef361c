"""An in-memory Unthread for the enrichment tests: users and conversations per tenant, every
call recorded, optionally held at a gate so concurrent callers pile up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from schemas.events import Conversation
from schemas.unthread import UnthreadUser
from unthread.errors import UnthreadAuthError, UnthreadServerError
from unthread.target import UnthreadTarget

ACME = UnthreadTarget.for_tenant("T01ACME", "acme-unthread-key", "https://unthread.test/api")


@dataclass
class InMemoryUnthread:
    """Satisfies processors.unthread_lookup.UnthreadApi."""

    users: dict[str, list[UnthreadUser]] = field(default_factory=dict)
    conversations: dict[str, dict[str, Conversation]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    gate: asyncio.Event | None = None
    fail_next: int = 0
    reject_key: bool = False

    def add_user(self, target: UnthreadTarget, **user: Any) -> UnthreadUser:
        added = UnthreadUser.model_validate(user)
        self.users.setdefault(target.tenant_id, []).append(added)
        return added

    def add_conversation(self, target: UnthreadTarget, **conversation: Any) -> None:
        stored = Conversation.model_validate(conversation)
        self.conversations.setdefault(target.tenant_id, {})[stored.id] = stored

    async def get_user_by_slack_id(
        self, target: UnthreadTarget, slack_id: str
    ) -> UnthreadUser | None:
        await self._call("slackId", slack_id)
        return next(
            (u for u in self.users.get(target.tenant_id, []) if u.slack_id == slack_id), None
        )

    async def get_user_by_id(self, target: UnthreadTarget, user_id: str) -> UnthreadUser | None:
        await self._call("id", user_id)
        return next((u for u in self.users.get(target.tenant_id, []) if u.id == user_id), None)

    async def get_conversation(
        self, target: UnthreadTarget, conversation_id: str
    ) -> Conversation | None:
        await self._call("conversation", conversation_id)
        return self.conversations.get(target.tenant_id, {}).get(conversation_id)

    async def _call(self, kind: str, value: str) -> None:
        self.calls.append((kind, value))
        if self.gate is not None:
            await self.gate.wait()
        if self.reject_key:
            raise UnthreadAuthError(401, method="POST", path="/users/list")
        if self.fail_next:
            self.fail_next -= 1
            raise UnthreadServerError(503, method="POST", path="/users/list")
