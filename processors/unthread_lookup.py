"""Unthread users and conversations by id, cached per tenant: the production
:class:`processors.enrichment.UnthreadLookup`.

Events of one conversation arrive in bursts and name the same few people, so without a cache
every event would cost the same Unthread calls again. Users are cached like Vitally people
(``ttl``, shorter ``miss_ttl``); a conversation only for ``conversation_ttl``, because its
status and assignee change, and the cache is there to share one fetch among a burst.
Concurrent misses share one request (:class:`processors.lookup_cache.SingleFlightCache`).
Keys include the tenant's hashed key (``UnthreadTarget.account_key``): what one key could see
is not reused after the tenant saves another.
"""

from __future__ import annotations

from typing import Protocol

from aiocache import BaseCache

from processors.lookup_cache import BoundedMemoryCache, SingleFlightCache
from schemas.events import Conversation
from schemas.unthread import UnthreadUser
from unthread.target import UnthreadTarget


class UnthreadApi(Protocol):
    """What the lookups need of `unthread.UnthreadClient`."""

    async def get_user_by_slack_id(
        self, target: UnthreadTarget, slack_id: str
    ) -> UnthreadUser | None: ...

    async def get_user_by_id(self, target: UnthreadTarget, user_id: str) -> UnthreadUser | None: ...

    async def get_conversation(
        self, target: UnthreadTarget, conversation_id: str
    ) -> Conversation | None: ...


class CachedUnthreadLookup:
    """Unthread lookups through an aiocache cache, one request per key at a time."""

    def __init__(
        self,
        unthread: UnthreadApi,
        *,
        ttl: float = 600.0,
        miss_ttl: float = 60.0,
        conversation_ttl: float = 30.0,
        cache: BaseCache | None = None,
        max_entries: int = 100_000,
    ) -> None:
        self._unthread = unthread
        store: BaseCache = cache if cache is not None else BoundedMemoryCache(max_entries)
        self._users = SingleFlightCache(store, ttl=ttl, miss_ttl=miss_ttl)
        self._conversations = SingleFlightCache(
            store, ttl=conversation_ttl, miss_ttl=min(miss_ttl, conversation_ttl)
        )

    async def user_by_slack_id(self, target: UnthreadTarget, slack_id: str) -> UnthreadUser | None:
        key = _key(target, "slack", slack_id)
        return await self._users.get(
            key, UnthreadUser, lambda: self._unthread.get_user_by_slack_id(target, slack_id)
        )

    async def user_by_id(self, target: UnthreadTarget, user_id: str) -> UnthreadUser | None:
        key = _key(target, "user", user_id)
        return await self._users.get(
            key, UnthreadUser, lambda: self._unthread.get_user_by_id(target, user_id)
        )

    async def conversation(
        self, target: UnthreadTarget, conversation_id: str
    ) -> Conversation | None:
        key = _key(target, "conversation", conversation_id)
        return await self._conversations.get(
            key, Conversation, lambda: self._unthread.get_conversation(target, conversation_id)
        )


def _key(target: UnthreadTarget, kind: str, value: str) -> str:
    return f"unthread:{target.account_key}:{kind}:{value}"
