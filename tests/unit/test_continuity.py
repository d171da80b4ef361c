from __future__ import annotations

from collections.abc import AsyncIterator

from streams.continuity import OffsetContinuity


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_records_in_order_and_redeliveries_are_handled() -> None:
    c = OffsetContinuity(clock=Clock())
    assert [c.check("p0", o, lambda: None) for o in (5, 6, 7)] == ["handle"] * 3
    assert c.check("p0", 3, lambda: None) == "handle"  # redelivered after Faust's own seek
    assert c.expected("p0") == 4


def test_a_hole_after_the_watermark_is_read_again_from_the_watermark() -> None:
    clock = Clock()
    c = OffsetContinuity(clock=clock)
    # A restart: Faust's commit went past what we handled (watermark 247), it delivers 375.
    assert c.check("p0", 375, lambda: 247) == "seek"
    assert c.expected("p0") == 247
    clock.now = 0.2
    assert c.check("p0", 376, lambda: 247) == "drop"  # fetched before the seek took effect
    assert c.check("p0", 247, lambda: 247) == "handle"
    assert c.check("p0", 248, lambda: 247) == "handle"


def test_a_hole_inside_a_run_is_detected_too() -> None:
    c = OffsetContinuity(clock=Clock())
    assert c.check("p0", 10, lambda: None) == "handle"
    assert c.check("p0", 14, lambda: None) == "seek"
    assert c.check("p0", 11, lambda: None) == "handle"


def test_the_seek_is_repeated_and_a_hole_that_never_fills_is_accepted() -> None:
    clock = Clock()
    c = OffsetContinuity(gap_grace_s=5, clock=clock)
    assert c.check("p0", 12, lambda: 10) == "seek"
    clock.now = 1.5
    assert c.check("p0", 12, lambda: 10) == "seek"  # our seek may have been undone
    clock.now = 5.1
    assert c.check("p0", 12, lambda: 10) == "handle"  # e.g. a transaction marker at 10-11
    assert c.expected("p0") == 13


def test_partitions_are_independent_and_reset_rereads_watermarks() -> None:
    c = OffsetContinuity(clock=Clock())
    assert c.check("p0", 1, lambda: None) == "handle"
    assert c.check("p1", 9, lambda: 9) == "handle"
    c.reset()
    assert c.check("p0", 5, lambda: 2) == "seek"


def test_a_replay_from_reset_offsets_is_read_whole_even_when_faust_skips_its_start() -> None:
    # Offsets reset to 0 for a replay, watermark 180; Faust skips 0..142 while it starts up.
    c = OffsetContinuity(clock=Clock())
    c.reset({("events", 0): 0})
    assert c.check(("events", 0), 143, lambda: 180) == "seek"
    assert c.expected(("events", 0)) == 0
    assert c.check(("events", 0), 0, lambda: 180) == "handle"


def test_a_commit_past_the_watermark_still_reads_from_the_watermark() -> None:
    c = OffsetContinuity(clock=Clock())
    c.reset({("events", 0): 375})
    assert c.check(("events", 0), 375, lambda: 247) == "seek"
    assert c.expected(("events", 0)) == 247


def test_partitions_are_told_apart_and_a_new_assignment_forgets_old_starts() -> None:
    c = OffsetContinuity(clock=Clock())
    c.reset({("events", 0): 0})
    assert c.check(("events", 1), 50, lambda: None) == "handle"  # no start, no watermark
    c.reset()
    assert c.check(("events", 0), 143, lambda: 180) == "handle"  # below the watermark


async def _records(offsets: list[int]) -> AsyncIterator[int]:
    for offset in offsets:
        yield offset


async def test_a_hole_at_the_end_is_found_from_the_position_once_the_agent_waits() -> None:
    # A replay whose every record Faust skipped: no record arrives to show the hole.
    clock = Clock()
    clock.now = 100.0
    c = OffsetContinuity(clock=clock)
    c.reset({("events", 0): 0})
    assert [r async for r in c.watch(_records([]))] == []  # the agent waits from now
    assert c.stalled(("events", 0), 180, lambda: 180) is None  # not waiting long enough yet
    clock.now = 103.0
    assert c.stalled(("events", 0), 180, lambda: 180) == 0
    assert c.stalled(("events", 0), 180, lambda: 180) is None  # at most one seek a second
    clock.now = 104.5
    assert c.stalled(("events", 0), 180, lambda: 180) == 0  # our seek may have been undone
    assert c.check(("events", 0), 0, lambda: 180) == "handle"


async def test_no_seek_while_the_agent_is_busy_or_nothing_is_missing() -> None:
    clock = Clock()
    clock.now = 100.0
    c = OffsetContinuity(clock=clock)
    c.reset()
    seen = []
    async for offset in c.watch(_records([0, 1, 2])):
        seen.append(c.check(("events", 0), offset, lambda: None))
        clock.now += 10  # a long time in one record's handling: the agent is not waiting
        assert c.stalled(("events", 0), 50, lambda: None) is None
    assert seen == ["handle"] * 3
    clock.now += 10
    assert c.stalled(("events", 0), 3, lambda: None) is None  # position = expected


async def test_an_end_hole_that_never_fills_is_accepted_after_the_grace() -> None:
    clock = Clock()
    clock.now = 100.0
    c = OffsetContinuity(clock=clock)
    c.reset()
    async for offset in c.watch(_records([9])):
        c.check(("events", 0), offset, lambda: None)
    clock.now = 103.0
    assert c.stalled(("events", 0), 12, lambda: None) == 10  # a control record at 10, 11?
    clock.now = 109.0
    assert c.stalled(("events", 0), 12, lambda: None) is None
    assert c.expected(("events", 0)) == 12
