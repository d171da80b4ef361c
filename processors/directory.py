"""Email to Vitally user/admin lookups, cached per tenant with aiocache.

Most events of a busy conversation name the same two people, so lookups are the bulk of our
Vitally calls unless cached. Hits live for ``ttl`` seconds; misses for a shorter
``miss_ttl``, because a missing person is usually added to Vitally soon after we notice.
Concurrent misses for the same key share one request (single flight,
:class:`processors.lookup_cache.SingleFlightCache`), so a burst of events for a new
conversation costs one lookup, not one per event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal, TypeVar

from aiocache import BaseCache
from pydantic import BaseModel

from processors.clock import SystemClock
from processors.conversation_index import ConversationIndex
from processors.direction import normalise_email
from processors.lookup_cache import BoundedMemoryCache, SingleFlightCache
from processors.protocols import VitallyApi
from schemas.vitally import VitallyAdmin, VitallyUser
from vitally.target import VitallyTarget

T = TypeVar("T", bound=BaseModel)


class CachedDirectory:
    """A :class:`processors.protocols.Directory` backed by Vitally and an aiocache cache."""

    def __init__(
        self,
        vitally: VitallyApi,
        *,
        ttl: float = 600.0,
        miss_ttl: float = 60.0,
        cache: BaseCache | None = None,
        max_entries: int = 100_000,
        conversations: ConversationIndex | None = None,
    ) -> None:
        self._vitally = vitally
        store: BaseCache = cache if cache is not None else BoundedMemoryCache(max_entries)
        self._lookups = SingleFlightCache(store, ttl=ttl, miss_ttl=miss_ttl)
        self._misses_forgotten: dict[str, int] = {}
        self._conversations = conversations or ConversationIndex(vitally, clock=SystemClock())

    async def user(self, target: VitallyTarget, email: str) -> VitallyUser | None:
        return await self._lookup(
            target, "user", email, VitallyUser, self._vitally.find_user_by_email
        )

    async def admin(self, target: VitallyTarget, email: str) -> VitallyAdmin | None:
        return await self._lookup(
            target, "admin", email, VitallyAdmin, self._vitally.find_admin_by_email
        )

    async def conversation(
        self,
        target: VitallyTarget,
        external_id: str,
        created_after: datetime | None,
        written_at: float | None = None,
    ) -> str | None:
        return await self._conversations.conversation(
            target, external_id, created_after, written_at
        )

    async def message(
        self,
        target: VitallyTarget,
        conversation_id: str,
        external_id: str,
        written_at: float | None = None,
    ) -> str | None:
        return await self._conversations.message(target, conversation_id, external_id, written_at)

    def taken_over(self) -> None:
        """A new assignment of partitions (see :mod:`processors.conversation_index`)."""
        self._conversations.taken_over()

    async def forget_misses(self, target: VitallyTarget, asked_at: int) -> None:
        """People were added to the tenant's Vitally (an operator asked for a re-check at
        ``asked_at``): who was found missing is asked again. Once per request."""
        if self._misses_forgotten.get(target.account_key, -1) >= asked_at:
            return
        self._misses_forgotten[target.account_key] = asked_at
        await self._lookups.forget_misses(f"{target.account_key}:")

    async def forget(
        self, target: VitallyTarget, kind: Literal["user", "admin"], email: str
    ) -> None:
        """Drop one entry, e.g. when a re-check of a missing person is due."""
        await self._lookups.forget(self._key(target, kind, email))

    async def _lookup(
        self,
        target: VitallyTarget,
        kind: Literal["user", "admin"],
        email: str,
        model: type[T],
        fetch: Callable[[VitallyTarget, str], Awaitable[T | None]],
    ) -> T | None:
        address = normalise_email(email)
        if address is None:
            return None
        key = self._key(target, kind, address)
        return await self._lookups.get(key, model, lambda: fetch(target, address))

    @staticmethod
    def _key(target: VitallyTarget, kind: str, email: str) -> str:
        return f"{target.account_key}:{kind}:{email}"
