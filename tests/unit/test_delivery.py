"""Deliveries (streams/delivery.py) on a topic whose sends the test answers: a refused output
is sent again, the same bytes, until Kafka takes it; a stopping worker gives up only after its
grace."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import faust
import pytest

from streams.delivery import Deliveries, OutputKind, UndeliveredOutput


class Topic:
    """Each send's future, for the test to answer as the broker would."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes | None, asyncio.Future[Any]]] = []

    async def send(
        self, *, key: bytes | None, value: bytes | None, headers: dict[str, bytes] | None
    ) -> asyncio.Future[Any]:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((key, value, answer))
        return answer

    def get_topic_name(self) -> str:
        return "audit"

    def refuse_last(self) -> None:
        self.sent[-1][2].set_exception(RuntimeError("MessageSizeTooLargeError"))


class World:
    def __init__(self, grace_s: float) -> None:
        self.topic = Topic()
        self.now = 0.0
        self.stopping = False
        self.failures: list[OutputKind] = []
        self.deliveries = Deliveries(
            stopping=lambda: self.stopping, timeout_s=5.0, grace_s=grace_s,
            on_failure=self.failures.append, sleep=self._sleep, monotonic=lambda: self.now,
        )  # fmt: skip

    async def _sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)

    async def sends(self, count: int) -> None:
        async with asyncio.timeout(2):
            while len(self.topic.sent) < count:
                await asyncio.sleep(0.001)


async def _one_audit(world: World) -> asyncio.Task[None]:
    outputs = world.deliveries.collect()
    await world.deliveries.send("audit", cast(faust.TopicT, world.topic), b"c-1", b"{}")
    return asyncio.create_task(world.deliveries.delivered(outputs))


async def test_a_refused_output_is_sent_again_with_backoff_until_taken() -> None:
    world = World(grace_s=10.0)
    delivered = await _one_audit(world)
    for attempt in range(1, 6):
        world.topic.refuse_last()
        await world.sends(attempt + 1)
    assert {(key, value) for key, value, _ in world.topic.sent} == {(b"c-1", b"{}")}
    assert world.now == 1 + 2 + 4 + 8 + 10  # doubling, at most 10 s
    assert not delivered.done()
    world.topic.sent[-1][2].set_result(None)
    await asyncio.wait_for(delivered, 2)
    assert world.failures == ["audit"] * 5


async def test_a_stopping_worker_keeps_trying_for_its_grace_then_gives_up() -> None:
    world = World(grace_s=3.0)
    world.stopping = True
    delivered = await _one_audit(world)
    world.topic.refuse_last()
    await world.sends(2)  # within the grace: sent again
    world.topic.refuse_last()
    await world.sends(3)
    world.topic.refuse_last()
    with pytest.raises(UndeliveredOutput, match="audit record .* not written to audit"):
        await asyncio.wait_for(delivered, 2)
    assert world.now >= 3.0


async def test_the_grace_starts_again_once_the_worker_is_no_longer_stopping() -> None:
    world = World(grace_s=1.0)
    world.stopping = True
    delivered = await _one_audit(world)
    world.topic.refuse_last()
    await world.sends(2)
    world.stopping = False  # the rebalance ended and the partition stayed
    for attempt in range(2, 5):
        world.topic.refuse_last()
        await world.sends(attempt + 1)
    world.topic.sent[-1][2].set_result(None)
    await asyncio.wait_for(delivered, 2)
