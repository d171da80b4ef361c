"""A walk keeps at most its limit of events produced and not yet handled, across partitions,
and stops (without producing) when told to while it waits. No Kafka: the handled offsets are a
dict the fake `sleep` moves on, as the agent would."""

from __future__ import annotations

import asyncio

import pytest

from processors.source_walk import WalkStopped
from processors.walk_pacing import OutstandingEvents


class Topic:
    """Two partitions; each `sleep` the agent handles one more record of each."""

    def __init__(self) -> None:
        self.offsets = {0: 0, 1: 0}
        self.handled = {0: 0, 1: 0}
        self.most_outstanding = 0
        self.sleeps = 0

    async def send(self, key: bytes, value: bytes, partition: int) -> int:
        offset = self.offsets[partition]
        self.offsets[partition] += 1
        outstanding = sum(self.offsets[p] - self.handled[p] for p in self.offsets)
        self.most_outstanding = max(self.most_outstanding, outstanding)
        return offset

    async def next_offset(self, partition: int) -> int | None:
        return self.handled[partition]

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        for partition, end in self.offsets.items():
            self.handled[partition] = min(end, self.handled[partition] + 1)


def test_never_more_than_the_limit_outstanding() -> None:
    topic = Topic()
    window = OutstandingEvents(3, topic.next_offset, sleep=topic.sleep)
    produce = window.paced(topic.send, lambda key: key[0] % 2, lambda: True)

    async def walk() -> None:
        for n in range(20):
            await produce(bytes([n]), b"{}")

    asyncio.run(walk())
    assert sum(topic.offsets.values()) == 20
    assert topic.most_outstanding == 3 and topic.sleeps > 0


def test_a_partition_nobody_reports_on_holds_the_walk_until_told_to_stop() -> None:
    topic = Topic()
    going = [True]

    async def unknown(partition: int) -> int | None:
        return None  # the group's offsets could not be read

    async def sleep(seconds: float) -> None:
        going[0] = False

    window = OutstandingEvents(2, unknown, sleep=sleep)
    produce = window.paced(topic.send, lambda key: 0, lambda: going[0])

    async def walk() -> None:
        for n in range(5):
            await produce(bytes([n]), b"{}")

    with pytest.raises(WalkStopped):
        asyncio.run(walk())
    assert topic.offsets[0] == 2  # nothing past the limit, and nothing once told to stop
