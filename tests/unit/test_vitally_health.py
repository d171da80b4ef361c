"""Outage recovery: parked conversations are woken when the tenant's Vitally answers again,
in bounded batches, probed cheaply with backoff while it does not."""

from __future__ import annotations

import asyncio

from schemas.state import ParkedEvent
from streams.parking import TRANSIENT, ParkedIndex
from streams.vitally_health import VitallyHealth
from vitally.errors import VitallyServerError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def parked(reason: str, offset: int = 1, due: int = 10**15) -> ParkedEvent:
    return ParkedEvent(topic="in", partition=0, offset=offset, key="c", value="{}",
                       reason=reason, first_parked_at=0, next_attempt_at=due)  # fmt: skip


def outage_index(conversations: int, tenant: str = "T1") -> ParkedIndex:
    index = ParkedIndex()
    for n in range(conversations):
        index.update(f"{tenant}/c{n}", tenant, [parked("vitally_unavailable")])
    return index


class Probes:
    def __init__(self, health: list[VitallyHealth], answers: bool) -> None:
        self.health = health
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, tenant_id: str) -> None:
        self.calls.append(tenant_id)
        if self.answers:
            self.health[0].answered(tenant_id)
        else:
            self.health[0].unavailable(tenant_id, None)
            raise VitallyServerError(503, method="GET", path="/resources/users")


def build(index: ParkedIndex, answers: bool, batch: int = 4) -> tuple[VitallyHealth, Probes, Clock]:
    holder: list[VitallyHealth] = []
    probes = Probes(holder, answers)
    clock = Clock()
    health = VitallyHealth(index=index, probe=probes, clock=clock, batch=batch)
    holder.append(health)
    return health, probes, clock


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_the_first_live_success_wakes_a_batch_then_the_next_as_they_resolve() -> None:
    index = outage_index(10)
    health, probes, clock = build(index, answers=True)
    health.unavailable("T1", None)  # the outage, seen by a live call
    assert health.tick() == 0
    assert index.due(0, {0}) == []  # nothing due before its backoff
    health.answered("T1")  # a live call of another conversation succeeds
    assert health.tick() == 4
    woken = [key for key, _ in index.due(0, {0})]
    assert len(woken) == 4 and all(index.woken(k) for k in woken)
    assert health.tick() == 0  # the batch is not resolved yet: no more
    for key in woken[:3]:
        index.update(key, "T1", [])  # synced
    assert health.tick() == 3
    assert probes.calls == []  # the live call said it all


async def test_a_down_tenant_is_probed_with_backoff_and_woken_when_the_probe_answers() -> None:
    index = outage_index(3)
    health, probes, clock = build(index, answers=False)
    health.unavailable("T1", None)
    health.tick()
    await settle()
    assert probes.calls == []  # not before the first interval
    clock.now += 2
    health.tick()
    await settle()
    assert probes.calls == ["T1"]
    clock.now += 2
    health.tick()
    await settle()
    assert probes.calls == ["T1"]  # failed: the interval doubled to 4 s
    clock.now += 2
    probes.answers = True
    assert health.tick() == 0  # the probe starts now; its answer wakes on the next tick
    await settle()
    assert probes.calls == ["T1", "T1"]
    assert health.tick() == 3


async def test_a_rate_limited_tenant_is_probed_once_its_reset_has_passed() -> None:
    index = ParkedIndex()
    index.update("T1/c", "T1", [parked("vitally_rate_limited")])
    health, probes, clock = build(index, answers=True)
    health.unavailable("T1", 17.0)  # 429 with RateLimit-Reset: 17
    clock.now += 16
    health.tick()
    await settle()
    assert probes.calls == []
    clock.now += 1
    health.tick()
    await settle()
    assert probes.calls == ["T1"]
    assert health.tick() == 1


async def test_parked_tenants_never_called_by_this_worker_are_probed_at_once() -> None:
    index = outage_index(2)  # rebuilt from the table after a restart
    health, probes, _ = build(index, answers=True)
    health.tick()
    await settle()
    assert probes.calls == ["T1"]
    assert health.tick() == 2


async def test_a_tenant_that_fails_again_right_after_recovering_backs_off() -> None:
    index = outage_index(1)
    health, probes, clock = build(index, answers=False)
    health.unavailable("T1", None)
    health.answered("T1")
    health.unavailable("T1", None)  # within the stable period: a flap
    clock.now += 2
    health.tick()
    await settle()
    assert probes.calls == []  # the interval doubled: 4 s, not 2
    clock.now += 2
    health.tick()
    await settle()
    assert probes.calls == ["T1"]


def test_other_reasons_and_other_tenants_are_not_woken() -> None:
    index = outage_index(2, "T1")
    index.update("T2/c", "T2", [parked("vitally_unavailable")])
    index.update("T1/p", "T1", [parked("customer_not_in_vitally")])
    assert index.wake("T1", TRANSIENT, 10) == 2
    assert not index.woken("T2/c") and not index.woken("T1/p")


def test_a_woken_head_stays_woken_while_only_its_queue_grows_and_not_once_parked_again() -> None:
    index = ParkedIndex()
    head = parked("vitally_unavailable", offset=1, due=5000)
    index.update("T1/c", "T1", [head])
    index.wake("T1", TRANSIENT, 1)
    index.update("T1/c", "T1", [head])  # only the queue behind it changed
    assert index.woken("T1/c")
    again = parked("vitally_unavailable", offset=1, due=9000)  # tried, failed, parked anew
    index.update("T1/c", "T1", [again])
    assert not index.woken("T1/c")
