"""How the flow into the sandbox looked from the outside: stall and catch-up.

A thread polls the sandbox's message count (its own HTTP client: the scenario's handle is not
shared across threads) and what the feeder has produced so far, a few times a second:

* stall: the longest time during which some produced message was not yet in the sandbox and
  none arrived (work was waiting and nothing reached Vitally);
* catch-up: the time from the end of the fault (``Progress.fault_over``) until the sandbox held
  every expected message.

Both are printed and reported, never asserted: they depend on the machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

POLL_S = 0.2


@dataclass
class Progress:
    sandbox_url: str
    subdomains: Sequence[str]
    expected: int
    produced: Callable[[], int] = lambda: 0
    poll_s: float = POLL_S
    stall_s: float = 0.0
    stall_at: float | None = None  # monotonic time the longest stall began
    fault_over_at: float | None = None
    complete_at: float | None = None
    _last_count: int = 0
    _last_progress: float = field(default_factory=time.monotonic)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Progress:
        self._thread = threading.Thread(target=self._run, name="fault-progress", daemon=True)
        self._thread.start()
        return self

    def fault_over(self) -> None:
        """The fault ended now (Vitally answers again, the last worker was replaced...)."""
        self.fault_over_at = time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def catch_up_s(self) -> float | None:
        if self.fault_over_at is None or self.complete_at is None:
            return None
        return max(0.0, self.complete_at - self.fault_over_at)

    def figures(self, started: float) -> dict[str, float | None]:
        catch_up = self.catch_up_s
        return {
            "stall_s": round(self.stall_s, 1),
            "stall_began_s": None if self.stall_at is None else round(self.stall_at - started, 1),
            "catch_up_s": None if catch_up is None else round(catch_up, 1),
        }

    def _run(self) -> None:
        with httpx.Client(base_url=self.sandbox_url, timeout=5) as client:
            while not self._stop.is_set():
                try:
                    count = sum(
                        int(client.get(f"/_sandbox/orgs/{s}/stats").json()["messages"])
                        for s in self.subdomains
                    )
                except (httpx.HTTPError, ValueError, KeyError):
                    count = None
                if count is not None:
                    self._observe(time.monotonic(), count, min(self.produced(), self.expected))
                self._stop.wait(self.poll_s)

    def _observe(self, now: float, count: int, produced: int) -> None:
        if count > self._last_count or produced <= self._last_count:
            # Progress, or nothing was waiting: no stall runs through this moment.
            self._last_count = count
            self._last_progress = now
        elif now - self._last_progress > self.stall_s:
            self.stall_s = now - self._last_progress
            self.stall_at = self._last_progress
        if count >= self.expected and self.complete_at is None:
            self.complete_at = now
