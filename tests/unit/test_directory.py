"""CachedDirectory: hits and misses cached per tenant and key, misses shorter; single flight."""

from __future__ import annotations

import asyncio

import pytest

from processors.directory import CachedDirectory
from tests.fakes import InMemoryVitally, tenant_context
from tests.unit.vitally.fakes import VirtualTimeLoop, run_virtual
from vitally.errors import VitallyServerError
from vitally.target import VitallyTarget

ACME = tenant_context("T01ACME").target
GLOBEX = tenant_context("T02GLOBEX").target
JANE = "jane@customer.example"


async def test_a_hit_is_cached() -> None:
    vitally = InMemoryVitally()
    jane = vitally.add_user("T01ACME", JANE)
    directory = CachedDirectory(vitally)
    assert await directory.user(ACME, JANE) == jane
    assert await directory.user(ACME, JANE) == jane
    assert vitally.count("find_user_by_email") == 1


async def test_a_miss_is_cached_too() -> None:
    vitally = InMemoryVitally()
    directory = CachedDirectory(vitally)
    assert await directory.admin(ACME, "nobody@vendor.example") is None
    vitally.add_admin("T01ACME", "nobody@vendor.example")
    assert await directory.admin(ACME, "nobody@vendor.example") is None  # still the miss
    assert vitally.count("find_admin_by_email") == 1


async def test_the_email_is_normalised_before_the_lookup_and_the_key() -> None:
    vitally = InMemoryVitally()
    jane = vitally.add_user("T01ACME", JANE)
    directory = CachedDirectory(vitally)
    assert await directory.user(ACME, "  Jane@Customer.EXAMPLE ") == jane
    assert await directory.user(ACME, JANE) == jane
    assert vitally.calls == [("find_user_by_email", (ACME, JANE))]


async def test_not_an_email_costs_no_call() -> None:
    vitally = InMemoryVitally()
    directory = CachedDirectory(vitally)
    assert await directory.user(ACME, "not-an-email") is None
    assert vitally.calls == []


async def test_users_and_admins_are_cached_apart() -> None:
    vitally = InMemoryVitally()
    user = vitally.add_user("T01ACME", "pat@vendor.example")
    admin = vitally.add_admin("T01ACME", "pat@vendor.example")
    directory = CachedDirectory(vitally)
    assert await directory.user(ACME, "pat@vendor.example") == user
    assert await directory.admin(ACME, "pat@vendor.example") == admin
    assert vitally.methods() == ["find_user_by_email", "find_admin_by_email"]


async def test_tenants_are_cached_apart() -> None:
    vitally = InMemoryVitally()
    acme_jane = vitally.add_user("T01ACME", JANE)
    globex_jane = vitally.add_user("T02GLOBEX", JANE)
    directory = CachedDirectory(vitally)
    for _ in range(2):
        assert await directory.user(ACME, JANE) == acme_jane
        assert await directory.user(GLOBEX, JANE) == globex_jane
    assert vitally.targets() == [ACME, GLOBEX]


async def test_a_new_key_for_the_same_tenant_does_not_reuse_old_entries() -> None:
    vitally = InMemoryVitally()
    directory = CachedDirectory(vitally)
    assert await directory.user(ACME, JANE) is None
    reconnected = VitallyTarget.for_tenant("T01ACME", "acme", "us", "new-secret", ACME.base_url)
    jane = vitally.add_user("T01ACME", JANE)
    assert await directory.user(reconnected, JANE) == jane
    assert vitally.count("find_user_by_email") == 2


async def test_forget_drops_one_entry() -> None:
    vitally = InMemoryVitally()
    directory = CachedDirectory(vitally)
    assert await directory.user(ACME, JANE) is None
    jane = vitally.add_user("T01ACME", JANE)
    await directory.forget(ACME, "user", JANE)
    assert await directory.user(ACME, JANE) == jane


def test_misses_expire_sooner_than_hits() -> None:
    async def scenario(loop: VirtualTimeLoop) -> list[int]:
        vitally = InMemoryVitally()
        vitally.add_user("T01ACME", JANE)
        directory = CachedDirectory(vitally, ttl=600, miss_ttl=60)
        calls = []

        async def both() -> None:
            await directory.user(ACME, JANE)
            await directory.user(ACME, "new@customer.example")
            calls.append(vitally.count("find_user_by_email"))

        await both()  # t=0: two lookups
        await asyncio.sleep(59)
        await both()  # t=59: both cached
        await asyncio.sleep(2)
        await both()  # t=61: the miss expired, the hit did not
        await asyncio.sleep(540)
        await both()  # t=601: the hit expired; the miss (re-cached at 61) too
        return calls

    assert run_virtual(scenario) == [2, 2, 3, 5]


async def test_single_flight_for_concurrent_lookups() -> None:
    vitally = InMemoryVitally()
    jane = vitally.add_user("T01ACME", JANE)
    release = vitally.hold("find_user_by_email")
    directory = CachedDirectory(vitally)
    lookups = [asyncio.create_task(directory.user(ACME, JANE)) for _ in range(10)]
    await asyncio.sleep(0.01)
    assert vitally.count("find_user_by_email") == 1  # the others wait for the first
    release.set()
    assert await asyncio.gather(*lookups) == [jane] * 10
    assert vitally.count("find_user_by_email") == 1


async def test_single_flight_is_per_key() -> None:
    vitally = InMemoryVitally()
    release = vitally.hold("find_user_by_email")
    directory = CachedDirectory(vitally)
    lookups = [
        asyncio.create_task(directory.user(target, email))
        for target in (ACME, GLOBEX)
        for email in (JANE, "joe@customer.example")
        for _ in range(3)
    ]
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(*lookups)
    emails = [args[1] for _, args in vitally.calls]
    tenants = [t.tenant_id for t in vitally.targets()]
    assert sorted(zip(tenants, emails, strict=True)) == [
        ("T01ACME", JANE),
        ("T01ACME", "joe@customer.example"),
        ("T02GLOBEX", JANE),
        ("T02GLOBEX", "joe@customer.example"),
    ]


async def test_a_failed_lookup_reaches_every_waiter_and_is_not_cached() -> None:
    vitally = InMemoryVitally()
    jane = vitally.add_user("T01ACME", JANE)
    error = VitallyServerError(503, method="GET", path="/resources/users/search")
    vitally.fail_next("find_user_by_email", error)
    release = vitally.hold("find_user_by_email")
    directory = CachedDirectory(vitally)
    lookups = [asyncio.create_task(directory.user(ACME, JANE)) for _ in range(10)]
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(*lookups, return_exceptions=True)
    assert results == [error] * 10
    assert vitally.count("find_user_by_email") == 1

    assert await directory.user(ACME, JANE) == jane  # the failure was not remembered
    assert vitally.count("find_user_by_email") == 2


async def test_a_cancelled_waiter_does_not_cancel_the_lookup() -> None:
    vitally = InMemoryVitally()
    jane = vitally.add_user("T01ACME", JANE)
    release = vitally.hold("find_user_by_email")
    directory = CachedDirectory(vitally)
    first = asyncio.create_task(directory.user(ACME, JANE))
    await asyncio.sleep(0.01)
    waiter = asyncio.create_task(directory.user(ACME, JANE))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    assert await first == jane
    assert await directory.user(ACME, JANE) == jane
    assert vitally.count("find_user_by_email") == 1
