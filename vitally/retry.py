"""When to repeat a failed Vitally call, and how long to wait first.

Three small steps, each testable alone: `should_retry` (is it safe and worth it?), `delay`
(server advice, else exponential backoff) and `jittered` (spread retries of many workers).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from vitally.errors import VitallyError


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently the client repeats a transient failure.

    Attempts are numbered from 1; `attempt` is always the one that just failed.
    A 429 whose advised wait exceeds `max_delay` is not waited out here: it is raised, so the
    stream layer can pause the tenant instead of holding a partition inside one call.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.1  # extra wait of up to this fraction; 0 disables
    rand: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def should_retry(self, error: VitallyError, attempt: int) -> bool:
        """Only transient errors, and never a write that may already have been applied:
        Vitally has no idempotency key, so the caller must look the record up first."""
        if attempt >= self.max_attempts or not error.transient or error.maybe_applied:
            return False
        advice = _server_advice(error)
        return advice is None or advice <= self.max_delay

    def delay(self, attempt: int, error: VitallyError | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`, before jitter.

        The server knows when its window has room, so its advice beats our backoff.
        """
        advice = _server_advice(error)
        if advice is not None:
            return advice
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def jittered(self, delay: float) -> float:
        """`delay` stretched by a random fraction up to `jitter`: never shorter, so a wait
        the server advised is still honoured."""
        return delay * (1 + self.jitter * self.rand())


def _server_advice(error: VitallyError | None) -> float | None:
    return error.retry_after if error is not None else None


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(max_attempts=1)
