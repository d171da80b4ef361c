"""A bound on a graceful stop: past it, the worker exits anyway.

A SIGTERM stops the worker gracefully: no new Vitally call starts, the calls in flight end
(within ``HTTP_TIMEOUT_SECONDS``), what was handled is committed and a static member leaves
the group. But Faust 0.15 can hang for good when the SIGTERM lands while its consumer thread
runs a new assignment (``_on_partitions_assigned``): the thread dies of the cancellation and
the stop waits for it forever, silently, while its partitions wait for the session timeout.
A deploy then stalls until the platform's kill.

:class:`ShutdownDeadline` watches from a thread of its own (the event loop may be the thing
that is stuck): once a stop has run for ``deadline_s``, it logs why and ends the process
with :data:`STUCK_EXIT_CODE`. Nothing is lost by that: an offset is committed only after
its record was fully handled, so what was not committed is handled again by the next owner,
as after a crash.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

STUCK_EXIT_CODE = 70  # EX_SOFTWARE


class ShutdownDeadline:
    def __init__(
        self,
        stopping: Callable[[], bool],
        deadline_s: float,
        *,
        poll_s: float = 0.25,
        exit: Callable[[int], object] = os._exit,
    ) -> None:
        self._stopping = stopping
        self._deadline_s = deadline_s
        self._poll_s = poll_s
        self._exit = exit
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._watch, name="shutdown-deadline", daemon=True
            )
            self._thread.start()

    def _watch(self) -> None:
        while not self._stopping():
            time.sleep(self._poll_s)
        time.sleep(self._deadline_s)
        log.critical(
            "the worker did not stop within %.0f s of being asked to; exiting now (what was not "
            "committed is handled again by the partitions' next owner)",
            self._deadline_s,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        self._exit(STUCK_EXIT_CODE)
