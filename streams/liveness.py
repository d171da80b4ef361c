"""Liveness: is this worker still doing its job, or should the platform restart it?

An HTTP answer alone proves little (Faust's web server answers while a stuck consumer or a
wedged timer loop does nothing), so a timer ticks every second and records two things:

* the event loop: how late the tick came (a loop blocked by a slow call delays every tick),
  and when the last one ran; no tick for ``loop_stall_s`` means the loop no longer runs our
  timers;
* the consumer: records wait on this worker's partitions (lag) and none was finished for
  ``progress_stall_s``, although no rebalance or table recovery is under way.

Neither fires on what the worker does by design: a rebalance or a long recovery (not
judged until settled), Vitally being slow or down (events finish by parking after their
in-line retries, well within the stall time), an idle topic (no lag).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

TICK_S = 1.0


class Liveness:
    def __init__(
        self,
        *,
        monotonic: Callable[[], float],
        lag: Callable[[], Mapping[Any, int]],
        progress: Callable[[], int],
        settled: Callable[[], bool],
        progress_stall_s: float,
        loop_stall_s: float = 30.0,
    ) -> None:
        self._monotonic = monotonic
        self._lag = lag
        self._progress = progress
        self._settled = settled
        self._progress_stall_s = progress_stall_s
        self._loop_stall_s = loop_stall_s
        now = monotonic()
        self._last_tick = now
        self._loop_lag_s = 0.0
        self._last_progress = now
        self._seen_progress: int | None = None

    def tick(self) -> None:
        """The timer's work: once a second, on the event loop."""
        now = self._monotonic()
        self._loop_lag_s = max(0.0, now - self._last_tick - TICK_S)
        self._last_tick = now
        progress = self._progress()
        # Nothing waiting, or unsettled (rebalance, recovery), counts as keeping up.
        if progress != self._seen_progress or not self._settled() or not any(self._lag().values()):
            self._last_progress = now
        self._seen_progress = progress

    def report(self) -> dict[str, Any]:
        now = self._monotonic()
        since_tick = now - self._last_tick
        since_progress = now - self._last_progress
        checks = {
            "event_loop_runs_timers": since_tick < self._loop_stall_s,
            "consumer_progressing": since_progress < self._progress_stall_s,
        }
        return {
            "live": all(checks.values()),
            "checks": checks,
            "loopLagSeconds": round(self._loop_lag_s, 3),
            "secondsSinceTick": round(since_tick, 3),
            "secondsWithoutProgress": round(since_progress, 3),
        }
