"""aiocache's in-memory cache with a cap on entries, and single-flight lookups over it.

aiocache bounds memory entries only by their TTL; with thousands of tenants and many people
each, a burst can still grow it without limit. Past ``max_entries`` the oldest entries (the
backend's dict keeps insertion order) are dropped, which costs at worst a repeated lookup.

:class:`SingleFlightCache` is the lookup pattern both directories use (Vitally people by
email, Unthread users and conversations by id): hits live for ``ttl`` seconds, misses for a
shorter ``miss_ttl``, and concurrent misses for one key share one fetch, so a burst of events
for a new conversation costs one request, not one per event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiocache import BaseCache, SimpleMemoryCache
from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)
_MISS = "__miss__"


class BoundedMemoryCache(SimpleMemoryCache):  # type: ignore[misc]  # aiocache is untyped
    """aiocache's memory cache with a cap on its entries."""

    def __init__(self, max_entries: int = 100_000, **kwargs: Any) -> None:
        # No per-call timeout: a dict never blocks, and aiocache's default (5 s) wraps every
        # get in asyncio.wait_for, a task and a timer per cache hit on the hot path.
        super().__init__(**{"timeout": None, **kwargs})
        self.max_entries = max_entries

    async def _set(
        self, key: str, value: Any, ttl: float | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        result = await super()._set(key, value, ttl, *args, **kwargs)
        while len(self._cache) > self.max_entries:
            await self._delete(next(iter(self._cache)))
        return result

    async def drop(self, key_prefix: str, value: Any) -> int:
        """Forget every entry whose key starts with ``key_prefix`` and that holds ``value``;
        how many."""
        keys = [k for k, v in self._cache.items() if k.startswith(key_prefix) and v == value]
        for key in keys:
            await self._delete(key)
        return len(keys)

    def __len__(self) -> int:
        return len(self._cache)


class SingleFlightCache:
    """Pydantic models (or their absence) cached by key, each key fetched once at a time.

    Values are stored as JSON-ready dicts, so any aiocache backend can hold them; an
    in-process memory cache holds the (frozen) models themselves, so a hit costs no
    validation. A failed fetch is not cached: every caller sharing it gets the error, the
    next one tries again.
    """

    def __init__(self, cache: BaseCache, *, ttl: float, miss_ttl: float) -> None:
        self._cache = cache
        self._ttl = ttl
        self._miss_ttl = miss_ttl
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        self._in_process = isinstance(cache, SimpleMemoryCache)

    async def get(
        self, key: str, model: type[T], fetch: Callable[[], Awaitable[T | None]]
    ) -> T | None:
        cached = await self._cache.get(key)
        if cached is not None:
            if isinstance(cached, model):
                return cached
            return None if cached == _MISS else model.model_validate(cached)
        if key in self._inflight:
            shared: T | None = await asyncio.shield(self._inflight[key])
            return shared
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            found = await fetch()
            await self._store(key, found)
            future.set_result(found)
            return found
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here so a lookup nobody shared never warns
            raise
        finally:
            del self._inflight[key]

    async def forget(self, key: str) -> None:
        await self._cache.delete(key)

    async def forget_misses(self, key_prefix: str) -> None:
        """Ask again for every key under ``key_prefix`` found missing (a bounded memory
        cache can list them; another backend lets them expire with ``miss_ttl``)."""
        if isinstance(self._cache, BoundedMemoryCache):
            await self._cache.drop(key_prefix, _MISS)

    async def _store(self, key: str, found: BaseModel | None) -> None:
        if found is None:
            await self._cache.set(key, _MISS, ttl=self._miss_ttl)
        else:
            value = found if self._in_process else found.model_dump(mode="json")
            await self._cache.set(key, value, ttl=self._ttl)
