from __future__ import annotations

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
