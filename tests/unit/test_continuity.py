from __future__ import annotations

from collections.abc import AsyncIterator

from streams.seam.continuity import OffsetContinuity

P0 = ("events", 0)
P1 = ("events", 1)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_records_in_order_and_redeliveries_are_handled() -> None:
    c = OffsetContinuity(clock=Clock())
    c.reset({P0: 5})
    assert [c.check(P0, o) for o in (5, 6, 7)] == ["handle"] * 3
    assert c.check(P0, 3) == "handle"  # redelivered after Faust's own seek
    assert c.expected(P0) == 4


def test_a_record_past_the_start_is_a_hole_to_ask_the_broker_about() -> None:
    c = OffsetContinuity(clock=Clock())
    c.reset({P0: 80})  # the committed offset
    assert c.check(P0, 332) == "hole"  # Faust skipped 80..331 while it started up
    assert c.expected(P0) == 80


def test_a_hole_with_records_in_it_is_read_again_and_later_records_wait() -> None:
    clock = Clock()
    c = OffsetContinuity(clock=clock)
    c.reset({P0: 80})
    assert c.check(P0, 332) == "hole"
    assert c.settle(P0, 332, first_record=80) == 80  # the broker has a record at 80: seek
    clock.now = 0.2
    assert c.check(P0, 333) == "drop"  # fetched before the seek took effect
    assert c.check(P0, 80) == "handle"
    assert c.check(P0, 81) == "handle"
    assert c.expected(P0) == 82


def test_a_seek_that_was_undone_is_noticed_and_the_broker_asked_again() -> None:
    clock = Clock()
    c = OffsetContinuity(reseek_s=1.0, clock=clock)
    c.reset({P0: 10})
    assert c.check(P0, 40) == "hole"
    assert c.settle(P0, 40, first_record=10) == 10
    clock.now = 1.5  # a rebalance or Faust's own seek moved the position on again
    assert c.check(P0, 41) == "hole"
    assert c.settle(P0, 41, first_record=10) == 10
    assert c.expected(P0) == 10  # never given up, however long it takes


def test_a_hole_the_broker_has_no_records_in_is_stepped_over() -> None:
    c = OffsetContinuity(clock=Clock())
    c.reset({P0: 10})
    assert c.check(P0, 12) == "hole"  # a transaction's commit marker at 10, 11
    assert c.settle(P0, 12, first_record=12) is None
    assert c.check(P0, 12) == "handle"
    assert c.expected(P0) == 13


def test_part_of_a_hole_may_be_markers_and_the_rest_missed_records() -> None:
    c = OffsetContinuity(clock=Clock())
    c.reset({P0: 10})
    assert c.check(P0, 30) == "hole"
    assert c.settle(P0, 30, first_record=12) == 12  # 10, 11 markers; 12 is a record
    assert c.expected(P0) == 12
    assert c.check(P0, 12) == "handle"


def test_no_answer_from_the_broker_never_skips_anything() -> None:
    c = OffsetContinuity(clock=Clock())
    c.reset({P0: 10})
    assert c.check(P0, 12) == "hole"
    assert c.settle(P0, 12, first_record=None) == 10
    assert c.expected(P0) == 10


def test_a_replay_from_reset_offsets_is_read_whole_even_when_faust_skips_its_start() -> None:
    # Offsets reset to 0 for a replay; Faust skips 0..142 while it starts up.
    c = OffsetContinuity(clock=Clock())
    c.reset({P0: 0})
    assert c.check(P0, 143) == "hole"
    assert c.settle(P0, 143, first_record=0) == 0
    assert c.check(P0, 0) == "handle"


def test_partitions_are_independent_and_a_new_assignment_forgets_old_expectations() -> None:
    c = OffsetContinuity(clock=Clock())
    c.reset({P0: 0, P1: 7})
    assert c.check(P0, 0) == "handle"
    assert c.check(P1, 9) == "hole"
    assert c.check(P0, 1) == "handle"
    c.reset({P1: 9})
    assert c.check(P1, 9) == "handle"
    assert c.check(P0, 50) == "handle"  # not in the assignment's starts: no expectation


async def _records(offsets: list[int]) -> AsyncIterator[int]:
    for offset in offsets:
        yield offset


async def test_records_that_vanished_at_the_end_are_asked_about_once_the_agent_waits() -> None:
    # Faust cleared a replay's records from its buffer after its seek: none arrives to show it.
    clock = Clock()
    clock.now = 100.0
    c = OffsetContinuity(clock=clock)
    c.reset({P0: 0})
    assert [r async for r in c.watch(_records([]))] == []  # the agent waits from now
    assert c.stalled(P0, 180) is None  # not waiting long enough yet
    clock.now = 103.0
    assert c.stalled(P0, 180) == 0
    assert c.settle(P0, 180, first_record=0) == 0  # the broker has them: read again
    assert c.stalled(P0, 180) is None  # at most one seek a second
    clock.now = 104.5
    assert c.stalled(P0, 180) == 0  # our seek may have been undone
    assert c.check(P0, 0) == "handle"


async def test_no_question_while_the_agent_is_busy_or_nothing_is_missing() -> None:
    clock = Clock()
    clock.now = 100.0
    c = OffsetContinuity(clock=clock)
    c.reset({P0: 0})
    seen = []
    async for offset in c.watch(_records([0, 1, 2])):
        seen.append(c.check(P0, offset))
        clock.now += 10  # a long time in one record's handling: the agent is not waiting
        assert c.stalled(P0, 50) is None
    assert seen == ["handle"] * 3
    clock.now += 10
    assert c.stalled(P0, 3) is None  # position = expected
    assert c.stalled(P1, 9) is None  # not assigned to us


async def test_markers_at_the_end_are_stepped_over_when_the_broker_has_no_records_there() -> None:
    clock = Clock()
    clock.now = 100.0
    c = OffsetContinuity(clock=clock)
    c.reset({P0: 9})
    async for offset in c.watch(_records([9])):
        assert c.check(P0, offset) == "handle"
    clock.now = 103.0
    assert c.stalled(P0, 12) == 10  # a transaction's marker at 10 and 11?
    assert c.settle(P0, 12, first_record=12) is None  # yes: nothing to read
    assert c.expected(P0) == 12
    assert c.stalled(P0, 12) is None


async def test_an_unanswered_question_about_the_end_reads_again_and_skips_nothing() -> None:
    clock = Clock()
    clock.now = 100.0
    c = OffsetContinuity(clock=clock)
    c.reset({P0: 4})
    assert [r async for r in c.watch(_records([]))] == []
    clock.now = 110.0
    assert c.stalled(P0, 12) == 4
    assert c.settle(P0, 12, first_record=None) == 4
    assert c.settle(P0, 12, first_record=7) == 7  # 4..6 markers, 7 is a record
    assert c.expected(P0) == 7
