"""KeyedLanes (order per key, concurrency across keys, bounded admission) and OffsetSequencer."""

# Seeded PRNGs make the interleavings varied yet reproducible; nothing here is security related.
# ruff: noqa: S311

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from streams.lanes import KeyedLanes, OffsetSequencer

GUARD_S = 5.0  # only against a hang: a deadlock fails the test instead of stalling the run


async def yield_randomly(rng: random.Random) -> None:
    """A random delay in scheduler steps: interleavings vary, the clock is never involved."""
    for _ in range(rng.randrange(0, 12)):
        await asyncio.sleep(0)


async def drained(lanes: KeyedLanes) -> None:
    await asyncio.wait_for(lanes.drain(), GUARD_S)


@pytest.mark.parametrize("seed", range(5))
async def test_each_key_completes_in_submission_order(seed: int) -> None:
    rng = random.Random(seed)
    lanes = KeyedLanes(max_in_flight=16)
    keys = [f"conv-{k}" for k in range(25)]
    submitted: dict[str, list[int]] = defaultdict(list)
    completed: dict[str, list[int]] = defaultdict(list)
    running: set[str] = set()

    def work_for(key: str, n: int, delay_rng: random.Random) -> Callable[[], Awaitable[None]]:
        async def work() -> None:
            assert key not in running, "two events of one conversation ran at once"
            running.add(key)
            await yield_randomly(delay_rng)
            completed[key].append(n)
            running.discard(key)

        return work

    for n in range(400):
        key = rng.choice(keys)
        submitted[key].append(n)
        await lanes.submit(key, work_for(key, n, random.Random(rng.random())))
    await drained(lanes)

    assert completed == submitted
    assert lanes.in_flight == 0


async def test_different_keys_run_concurrently() -> None:
    lanes = KeyedLanes(max_in_flight=4)
    a_started, b_started = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def a() -> None:
        a_started.set()
        await b_started.wait()  # only possible if b runs while a is still running
        finished.append("a")

    async def b() -> None:
        b_started.set()
        await a_started.wait()
        finished.append("b")

    await lanes.submit("conv-a", a)
    await lanes.submit("conv-b", b)
    await drained(lanes)
    assert sorted(finished) == ["a", "b"]


async def test_the_same_key_never_overlaps_even_when_the_first_waits() -> None:
    lanes = KeyedLanes(max_in_flight=4)
    gate = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        order.append("first started")
        await gate.wait()
        order.append("first done")

    async def second() -> None:
        order.append("second started")

    await lanes.submit("conv", first)
    await lanes.submit("conv", second)
    for _ in range(20):
        await asyncio.sleep(0)
    assert order == ["first started"]  # the second waits for the first, however long
    gate.set()
    await drained(lanes)
    assert order == ["first started", "first done", "second started"]


async def test_a_failure_does_not_block_the_key() -> None:
    lanes = KeyedLanes(max_in_flight=2)
    done: list[int] = []

    async def boom() -> None:
        raise RuntimeError("processing failed")

    async def after() -> None:
        done.append(2)

    await lanes.submit("conv", boom)
    await lanes.submit("conv", after)
    await drained(lanes)
    assert done == [2]


@pytest.mark.parametrize("limit", [1, 3, 8])
async def test_never_more_than_max_in_flight(limit: int) -> None:
    rng = random.Random(limit)
    lanes = KeyedLanes(max_in_flight=limit)
    running = 0
    peak = 0
    completed = 0

    async def work() -> None:
        nonlocal running, peak, completed
        running += 1
        peak = max(peak, running)
        await yield_randomly(rng)
        running -= 1
        completed += 1

    for n in range(200):
        await lanes.submit(f"conv-{n % 40}", work)
    await drained(lanes)
    assert completed == 200
    assert peak <= limit
    assert peak == limit  # the bound is reached, so it is what limits


async def test_submit_waits_while_the_worker_is_full() -> None:
    lanes = KeyedLanes(max_in_flight=2)
    release = asyncio.Event()

    async def blocked() -> None:
        await release.wait()

    await lanes.submit("a", blocked)
    await lanes.submit("b", blocked)
    third = asyncio.create_task(lanes.submit("c", blocked))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not third.done()  # backpressure: the caller is held, nothing is queued
    assert lanes.in_flight == 2
    release.set()
    await asyncio.wait_for(third, GUARD_S)
    await drained(lanes)
    assert lanes.in_flight == 0


async def test_events_waiting_behind_their_key_count_against_admission() -> None:
    lanes = KeyedLanes(max_in_flight=2)
    release = asyncio.Event()
    ran: list[str] = []

    async def hot() -> None:
        await release.wait()
        ran.append("hot")

    async def other() -> None:
        ran.append("other")

    await lanes.submit("hot", hot)
    await lanes.submit("hot", hot)
    late = asyncio.create_task(lanes.submit("other", other))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not late.done() and ran == []
    release.set()
    await asyncio.wait_for(late, GUARD_S)
    await drained(lanes)
    assert sorted(ran) == ["hot", "hot", "other"]


# ----- OffsetSequencer -----


def test_acks_are_released_only_as_a_contiguous_prefix() -> None:
    seq: OffsetSequencer[int, str] = OffsetSequencer()
    slots = {o: seq.track(0, o, f"r{o}") for o in (10, 11, 12, 13)}
    assert seq.lowest_unfinished(0) == 10
    assert seq.finish(0, slots[12]) == []
    assert seq.finish(0, slots[11]) == []
    assert seq.in_flight(0) == 4
    assert seq.finish(0, slots[10]) == ["r10", "r11", "r12"]
    assert seq.lowest_unfinished(0) == 13
    assert seq.finish(0, slots[13]) == ["r13"]
    assert seq.lowest_unfinished(0) is None
    assert seq.in_flight() == 0


def test_partitions_are_independent() -> None:
    seq: OffsetSequencer[int, str] = OffsetSequencer()
    p0 = seq.track(0, 5, "p0-5")
    p1 = seq.track(1, 5, "p1-5")
    p1_next = seq.track(1, 6, "p1-6")
    assert seq.finish(1, p1_next) == []
    assert seq.finish(1, p1) == ["p1-5", "p1-6"]  # partition 0 still unfinished: irrelevant
    assert seq.in_flight() == 1 and seq.in_flight(1) == 0
    assert seq.finish(0, p0) == ["p0-5"]


@pytest.mark.parametrize("seed", range(200))
def test_never_releases_an_offset_before_all_lower_ones(seed: int) -> None:
    rng = random.Random(seed)
    seq: OffsetSequencer[int, tuple[int, int]] = OffsetSequencer()
    slots = []
    tracked: dict[int, list[int]] = defaultdict(list)
    for partition in range(rng.randint(1, 4)):
        offset = rng.randrange(0, 1000)
        for _ in range(rng.randint(1, 30)):
            offset += rng.randint(1, 3)  # offsets may have gaps (compaction, transactions)
            slots.append((partition, seq.track(partition, offset, (partition, offset))))
            tracked[partition].append(offset)
    rng.shuffle(slots)

    finished: set[tuple[int, int]] = set()
    released: dict[int, list[int]] = defaultdict(list)
    for partition, slot in slots:
        finished.add((partition, slot.offset))
        for item_partition, offset in seq.finish(partition, slot):
            assert item_partition == partition
            lower = [o for o in tracked[partition] if o <= offset]
            assert all((partition, o) in finished for o in lower)
            assert offset not in released[partition]
            released[partition].append(offset)
        # What is released is exactly the finished prefix of the partition.
        prefix = []
        for o in tracked[partition]:
            if (partition, o) not in finished:
                break
            prefix.append(o)
        assert released[partition] == prefix

    assert released == tracked
    assert seq.in_flight() == 0


async def test_lanes_finish_out_of_order_but_acks_leave_in_order() -> None:
    # The app's pattern: work per conversation in lanes, acks through the sequencer.
    rng = random.Random(7)
    lanes = KeyedLanes(max_in_flight=32)
    seq: OffsetSequencer[int, int] = OffsetSequencer()
    finished_order: list[int] = []
    acked: list[int] = []

    for offset in range(300):
        slot = seq.track(0, offset, offset)
        delay = random.Random(rng.random())

        async def work(
            offset: int = offset, slot: Any = slot, delay: random.Random = delay
        ) -> None:
            await yield_randomly(delay)
            finished_order.append(offset)
            acked.extend(seq.finish(0, slot))

        await lanes.submit(f"conv-{rng.randrange(40)}", work)
    await drained(lanes)

    assert finished_order != sorted(finished_order)  # they really did finish out of order
    assert acked == list(range(300))
