"""Outage recovery driven by each tenant's Vitally health, not by a blind backoff.

Events parked for ``vitally_unavailable`` or ``vitally_rate_limited`` wait a capped
exponential backoff (:class:`streams.parking.ParkingPolicy`: a minute at first, five at
most). That stays the upper bound; but as soon as the tenant's Vitally answers again, its
parked conversations are woken:

* every Vitally call reports here (:class:`vitally.client.CallObserver`): a 5xx, a 429, no
  answer or a spent budget marks the tenant down; any other answer marks it up, so the first
  live call that succeeds ends the outage for the tenant;
* while a tenant is down and has conversations parked for those reasons, one cheap GET
  (a single user) probes it, every ``min_interval`` seconds at first. When the tenant was
  rate limited the probe waits until its ``RateLimit-Reset`` has passed, and it goes through
  the tenant's rate limiter like any call. A probe that fails doubles the interval (up to
  ``max_interval``); so does a tenant that fails again within ``stable_s`` of recovering (a
  flapping Vitally, or one endpoint failing while the probe's succeeds), so a lasting
  fault never costs more than a call every ``max_interval`` seconds;
* once the tenant answers, :meth:`VitallyHealth.tick` wakes its conversations in batches:
  at most ``batch`` woken and unresolved at once (the tenant's in-flight cap), the next ones
  as those resolve. Each resumes in its own lane, in order, through the tenant's gate and
  rate limiter like any event. A woken event that fails again parks again with its backoff.

Parked tenants this worker has never called (after a restart or a rebalance) are probed
once at once. Nothing here writes a table: waking only makes the index send retry records.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from streams.parking import TRANSIENT, ParkedIndex
from vitally.errors import VitallyError

log = logging.getLogger(__name__)


@dataclass
class _Tenant:
    up: bool
    next_probe_at: float
    interval: float
    recovered_at: float | None = None
    down_since: float | None = None
    probing: asyncio.Task[None] | None = None


class VitallyHealth:
    """Per tenant, whether its Vitally answers; wakes parked conversations when it does."""

    def __init__(
        self,
        *,
        index: ParkedIndex,
        probe: Callable[[str], Awaitable[None]],
        clock: Callable[[], float],
        batch: int,
        min_interval: float = 2.0,
        max_interval: float = 10.0,
        stable_s: float = 30.0,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self._index = index
        self._probe = probe
        self._clock = clock
        self._batch = batch
        self._min = min_interval
        self._max = max_interval
        self._stable_s = stable_s
        self._stopping = stopping
        self._tenants: dict[str, _Tenant] = {}

    # --- apiclient.client.CallObserver ---------------------------------------------------

    def called(
        self,
        tenant_id: str,
        endpoint: str,
        status: int | None,
        seconds: float,
        retry_after: float | None,
    ) -> None:
        """Vitally answered (any status but 5xx and 429), or it did not."""
        if status is None or status == 429 or status >= 500:
            self.unavailable(tenant_id, retry_after if status == 429 else None)
        else:
            self.answered(tenant_id)

    def budget_waited(self, seconds: float) -> None:
        """Our own pacing says nothing of Vitally's health."""

    def throttled(self, tenant_id: str, retry_after: float | None) -> None:
        """The tenant's budget holds requests back: as a 429, nothing before it is free."""
        self.unavailable(tenant_id, retry_after)

    def answered(self, tenant_id: str) -> None:
        state = self._tenants.get(tenant_id)
        if state is None:
            self._tenants[tenant_id] = _Tenant(True, 0.0, self._min)
            return
        if state.up:
            return
        now = self._clock()
        state.up, state.recovered_at = True, now
        down = now - state.down_since if state.down_since is not None else None
        log.info(
            "Vitally answers again for tenant %s%s: waking its parked conversations",
            tenant_id, "" if down is None else f" after {down:.1f} s",
        )  # fmt: skip

    def unavailable(self, tenant_id: str, retry_after: float | None) -> None:
        now = self._clock()
        state = self._tenants.get(tenant_id)
        if state is None:
            state = self._tenants[tenant_id] = _Tenant(True, 0.0, self._min)
        if state.up:
            flapping = state.recovered_at is not None and now - state.recovered_at < self._stable_s
            state.interval = min(self._max, state.interval * 2) if flapping else self._min
            state.up, state.down_since = False, now
            state.next_probe_at = now + state.interval
            log.info(
                "Vitally does not answer for tenant %s: probing it from %.1f s on",
                tenant_id, state.interval,
            )  # fmt: skip
        if retry_after is not None:
            # Rate limited: nothing is sent before the budget is free again.
            state.next_probe_at = max(state.next_probe_at, now + retry_after)

    # --- the timer ---------------------------------------------------------------------

    def tick(self) -> int:
        """Probe the down tenants that have parked conversations and are due a probe; wake
        the parked conversations of tenants that answer. How many were woken."""
        if self._stopping():
            return 0
        now = self._clock()
        woken = 0
        for tenant_id in self._index.waiting_tenants(TRANSIENT):
            state = self._tenants.get(tenant_id)
            if state is None:
                # Parked before this worker called the tenant (a restart, a takeover): ask.
                state = self._tenants[tenant_id] = _Tenant(False, now, self._min, down_since=None)
            if state.up:
                woken += self._index.wake(tenant_id, TRANSIENT, self._batch)
            elif now >= state.next_probe_at and (state.probing is None or state.probing.done()):
                state.probing = asyncio.create_task(self._probe_once(tenant_id, state))
        return woken

    def is_up(self, tenant_id: str) -> bool | None:
        """True/False as last seen; None for a tenant not seen yet."""
        state = self._tenants.get(tenant_id)
        return None if state is None else state.up

    async def _probe_once(self, tenant_id: str, state: _Tenant) -> None:
        try:
            await self._probe(tenant_id)  # its outcome reaches answered()/unavailable()
        except VitallyError:
            pass
        except Exception:
            log.exception("probing Vitally for tenant %s failed", tenant_id)
        if not state.up:
            state.interval = min(self._max, state.interval * 2)
            state.next_probe_at = max(state.next_probe_at, self._clock() + state.interval)
