"""aiocache's in-memory cache with a cap on entries, for the people lookups.

aiocache bounds memory entries only by their TTL; with thousands of tenants and many people
each, a burst can still grow it without limit. Past ``max_entries`` the oldest entries (the
backend's dict keeps insertion order) are dropped, which costs at worst a repeated lookup.
"""

from __future__ import annotations

from typing import Any

from aiocache import SimpleMemoryCache


class BoundedMemoryCache(SimpleMemoryCache):  # type: ignore[misc]  # aiocache is untyped
    """aiocache's memory cache with a cap on its entries."""

    def __init__(self, max_entries: int = 100_000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
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
