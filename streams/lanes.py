"""Per-conversation lanes and the in-order ack sequencer (no Kafka in here).

Faust runs one agent coroutine per worker; awaiting Vitally in it would serialise every
partition behind each HTTP call. Instead the agent hands each event to a *lane*: events with
the same key (conversation) run one after another in arrival order, different keys run
concurrently, and at most ``max_in_flight`` events are admitted at once, so a backlog
becomes backpressure into Faust's buffer rather than memory.

Finishing out of order is fine for Vitally but not for Kafka offsets: Faust can commit past
an unfinished event when acks arrive out of order (faust-streaming#606 and friends, see
docs/faust-pitfalls.md, 2). :class:`OffsetSequencer` therefore releases acks per partition
strictly in offset order: an event is acked only once it and every earlier event of its
partition are done, so Faust only ever sees the in-order acks its commit logic handles
correctly.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

E = TypeVar("E")
P = TypeVar("P", bound=Hashable)


@dataclass
class _Slot(Generic[E]):
    offset: int
    item: E
    done: bool = False


@dataclass
class OffsetSequencer(Generic[P, E]):
    """Tracks in-flight items per partition and yields them back in offset order."""

    _pending: dict[P, deque[_Slot[E]]] = field(default_factory=dict)

    def track(self, partition: P, offset: int, item: E) -> _Slot[E]:
        slot = _Slot(offset, item)
        self._pending.setdefault(partition, deque()).append(slot)
        return slot

    def finish(self, partition: P, slot: _Slot[E]) -> list[E]:
        """Mark ``slot`` done; return the items now safe to ack, lowest offset first."""
        slot.done = True
        queue = self._pending.get(partition)
        released: list[E] = []
        while queue and queue[0].done:
            released.append(queue.popleft().item)
        if queue is not None and not queue:
            del self._pending[partition]
        return released

    def in_flight(self, partition: P | None = None) -> int:
        if partition is not None:
            return len(self._pending.get(partition, ()))
        return sum(len(q) for q in self._pending.values())

    def oldest(self, partition: P) -> E | None:
        """The item of the lowest offset not yet released, if any."""
        queue = self._pending.get(partition)
        return queue[0].item if queue else None

    def lowest_unfinished(self, partition: P) -> int | None:
        queue = self._pending.get(partition)
        return queue[0].offset if queue else None


class KeyedLanes:
    """Runs submitted work strictly in order per key, concurrently across keys."""

    def __init__(self, max_in_flight: int) -> None:
        self._admission = asyncio.Semaphore(max_in_flight)
        self._tails: dict[Hashable, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, key: Hashable, work: Callable[[], Awaitable[None]]) -> None:
        """Admit ``work`` behind earlier work of ``key``; waits while the worker is full.

        The task is created here, in the caller's context: Faust's ``current_event`` travels
        with it, which is what lets the work write tables (docs/faust-pitfalls.md, 5).
        """
        await self._admission.acquire()
        previous = self._tails.get(key)
        task = asyncio.create_task(self._run(key, previous, work))
        self._tails[key] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self,
        key: Hashable,
        previous: asyncio.Task[None] | None,
        work: Callable[[], Awaitable[None]],
    ) -> None:
        try:
            if previous is not None:
                # Order only: the previous event's failure is its own to report.
                await asyncio.wait([previous])
            await work()
        finally:
            self._admission.release()
            if self._tails.get(key) is asyncio.current_task():
                del self._tails[key]

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait for everything admitted so far."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
