"""A stop that hangs ends the process after the deadline; a quick one is never cut short."""

from __future__ import annotations

import threading
import time

from streams.shutdown import STUCK_EXIT_CODE, ShutdownDeadline


def test_a_stop_that_hangs_exits_after_the_deadline() -> None:
    stopping = threading.Event()
    exited: list[int] = []
    done = threading.Event()

    def exit_(code: int) -> None:
        exited.append(code)
        done.set()

    ShutdownDeadline(stopping.is_set, 0.2, poll_s=0.01, exit=exit_).start()
    time.sleep(0.1)
    assert exited == []  # not stopping: nothing happens
    started = time.monotonic()
    stopping.set()
    assert done.wait(2)
    assert exited == [STUCK_EXIT_CODE]
    assert time.monotonic() - started >= 0.2
