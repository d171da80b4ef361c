"""Pacing a walk's events by how fast the workers handle them, so live events never queue
behind a burst of them.

The events an import or a reconciliation produces go onto the input topic, in front of
whatever live events arrive after them on the same partitions. Produced as fast as Unthread
lists them, a few hundred conversations would sit between a live event and the agent. So a
walk keeps at most `limit` of its own events outstanding (produced, and not yet finished by
the worker that owns their partition, as that partition's handled offset says): before each
event it waits until enough of the earlier ones are done. A live event then waits behind at
most `limit` of them, handled concurrently across conversations.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from processors.source_walk import Produce, WalkStopped

# (key, value, partition) -> the offset Kafka gave the record.
Send = Callable[[bytes, bytes, int], Awaitable[int]]
# The partition's next offset to handle (every record before it is finished), when known.
Handled = Callable[[int], Awaitable[int | None]]
POLL_SECONDS = 0.2


class OutstandingEvents:
    """A walk's events produced and not yet handled, at most `limit` of them."""

    def __init__(
        self,
        limit: int,
        handled: Handled,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limit = limit
        self._handled = handled
        self._sleep = sleep
        self._offsets: dict[int, deque[int]] = {}

    @property
    def count(self) -> int:
        return sum(len(offsets) for offsets in self._offsets.values())

    async def room(self, keep_going: Callable[[], bool]) -> None:
        """Wait until one more event may go; raises `WalkStopped` when told to stop first."""
        while self.count >= self._limit:
            await self._forget_handled()
            if self.count < self._limit:
                return
            if not keep_going():
                raise WalkStopped
            await self._sleep(POLL_SECONDS)

    def sent(self, partition: int, offset: int) -> None:
        self._offsets.setdefault(partition, deque()).append(offset)

    async def _forget_handled(self) -> None:
        for partition, offsets in self._offsets.items():
            done = await self._handled(partition)
            while offsets and done is not None and offsets[0] < done:
                offsets.popleft()

    def paced(
        self, send: Send, partition_of: Callable[[bytes], int], keep_going: Callable[[], bool]
    ) -> Produce:
        """`send` behind `room`: what the walk produces through."""

        async def produce(key: bytes, value: bytes) -> None:
            await self.room(keep_going)
            partition = partition_of(key)
            self.sent(partition, await send(key, value, partition))

        return produce
