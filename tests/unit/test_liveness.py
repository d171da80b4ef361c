"""Liveness fails when the worker stops making progress, and not for what it does by design."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.liveness import Liveness


@dataclass
class World:
    now: float = 0.0
    lag: dict[str, int] = field(default_factory=dict)
    progress: int = 0
    settled: bool = True

    def liveness(self) -> Liveness:
        return Liveness(
            monotonic=lambda: self.now,
            lag=lambda: self.lag,
            progress=lambda: self.progress,
            settled=lambda: self.settled,
            progress_stall_s=300,
        )

    def run(self, live: Liveness, seconds: int, *, finishing: bool = False) -> None:
        for _ in range(seconds):
            self.now += 1.0
            self.progress += 1 if finishing else 0
            live.tick()


def test_records_waiting_and_none_finished_fails_after_the_stall_time() -> None:
    world = World(lag={"p0": 10})
    live = world.liveness()
    world.run(live, 299)
    assert live.report()["live"] is True
    world.run(live, 2)
    report = live.report()
    assert report["live"] is False
    assert report["checks"] == {"event_loop_runs_timers": True, "consumer_progressing": False}


def test_a_busy_worker_that_finishes_records_is_live() -> None:
    world = World(lag={"p0": 5000})
    live = world.liveness()
    world.run(live, 1000, finishing=True)
    assert live.report()["live"] is True


def test_an_idle_worker_and_a_long_rebalance_are_live() -> None:
    world = World()
    live = world.liveness()
    world.run(live, 1000)  # no lag: nothing to do
    world.lag, world.settled = {"p0": 3}, False
    world.run(live, 1000)  # a rebalance or a table recovery that takes long
    assert live.report()["live"] is True


def test_a_loop_that_no_longer_runs_the_timer_fails_and_lateness_is_reported() -> None:
    world = World()
    live = world.liveness()
    world.now += 6.0  # the loop was blocked for five seconds past the tick
    live.tick()
    assert live.report()["loopLagSeconds"] == 5.0
    world.now += 31.0  # no tick since
    report = live.report()
    assert report["live"] is False and report["checks"]["event_loop_runs_timers"] is False
