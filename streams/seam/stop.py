"""A SIGTERM waits for the rebalance under way to finish before the worker stops.

Faust 0.15 can hang for good when its stop begins while the consumer thread runs a new
assignment (``_on_partitions_assigned``): the thread dies of the cancellation, the stop
waits for it, and the worker neither commits nor leaves the group, so its partitions wait
for the session timeout. In a rolling restart that is the usual moment: the next worker is
stopped as soon as the previous one's replacement is ready, when its join has just started
a rebalance. So the signal handler waits (at most ``max_wait_s``) while ``app.rebalancing``
before it starts Faust's stop; meanwhile no Vitally call starts (the handler's
``stopping()`` is true during a rebalance), and the calls in flight end.
:class:`streams.shutdown.ShutdownDeadline` remains the bound if the stop hangs anyway.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

from faust.worker import Worker

log = logging.getLogger(__name__)

_stop_on_signal = Worker._stop_on_signal  # noqa: SLF001 - listed in streams.seam.INTERNALS
_max_wait_s = 10.0


async def _after_the_rebalance(self: Any, signum: signal.Signals) -> None:
    app = getattr(self, "app", None)
    deadline = time.monotonic() + _max_wait_s
    if app is not None and app.rebalancing:
        log.info("stopping once the rebalance under way is over (at most %.0f s)", _max_wait_s)
        while app.rebalancing and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    await _stop_on_signal(self, signum)


def install(max_wait_s: float) -> None:
    global _max_wait_s  # noqa: PLW0603 - one worker per process
    _max_wait_s = max_wait_s
    Worker._stop_on_signal = _after_the_rebalance  # type: ignore[method-assign,assignment]  # noqa: SLF001
