"""When to repeat a failed API call, and how long to wait first: :meth:`RetryPolicy.decide`.

One decision for both callers: the client's own retries (which cannot look a write up, so
never repeat one that may have landed) and the handler's in-line retries of a whole event
(which look it up by its externalId first). What is not retried either fails or, when it may
clear by itself, is parked by the handler with the decision's reason.
The policy reads only what every client's errors say (`Retryable`), the park reason included
(an audit reason each API's errors name for themselves), so every client decides with it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from schemas.audit import Reason


class Retryable(Protocol):
    """What the policy reads of a failure: every API client's errors say it."""

    @property
    def reason(self) -> str: ...

    @property
    def transient(self) -> bool: ...

    @property
    def maybe_applied(self) -> bool: ...

    @property
    def retry_after(self) -> float | None: ...

    @property
    def park_reason(self) -> Reason:
        """Why an event may wait for this failure to clear (the API's "rate limited" or
        "unavailable" reason), should it outlast the retries."""
        ...


@dataclass(frozen=True)
class RetryIn:
    """Try again after ``delay`` seconds (jitter included)."""

    delay: float


@dataclass(frozen=True)
class GiveUp:
    """Stop trying now. ``park`` names why the failure may clear by itself (the event can
    wait for it); None means it will not (a rejection: the event fails)."""

    park: Reason | None


Decision = RetryIn | GiveUp


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is repeated.

    Attempts are numbered from 1; `attempt` is always the one that just failed. A wait
    longer than `max_delay` (a server's advice after a 429 can be a minute) is never sat out
    in line: the caller gives up and the event parks, instead of holding a partition.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.1  # extra wait of up to this fraction; 0 disables
    rand: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def decide(
        self,
        error: Retryable,
        attempt: int,
        *,
        can_look_up: bool = True,
        may_wait: bool = True,
    ) -> Decision:
        """What to do after ``attempt`` failed with ``error``.

        ``can_look_up``: the caller looks a write up by its externalId before repeating it,
        so a write that may have landed can be retried (for an API without idempotency keys).
        ``may_wait``: false while the worker stops or rebalances: nothing more in line.
        """
        if not error.transient and not error.maybe_applied:
            return GiveUp(park=None)
        park = error.park_reason
        delay = self.delay(attempt, error)
        if (
            attempt >= self.max_attempts
            or delay > self.max_delay
            or not may_wait
            or (error.maybe_applied and not can_look_up)
        ):
            return GiveUp(park=park)
        return RetryIn(self.jittered(delay))

    def delay(self, attempt: int, error: Retryable | None = None) -> float:
        """Seconds to wait before attempt `attempt + 1`, before jitter.

        The server knows when its window has room, so its advice beats our backoff.
        """
        advice = error.retry_after if error is not None else None
        if advice is not None:
            return advice
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def jittered(self, delay: float) -> float:
        """`delay` stretched by a random fraction up to `jitter`: never shorter, so a wait
        the server advised is still honoured."""
        return delay * (1 + self.jitter * self.rand())


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(max_attempts=1)
