"""Fault injection: latency, slow requests, injected errors, outages and ambiguous writes."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import GLOBEX_TOKEN, Harness, MakeHarness, auth


async def statuses(harness: Harness, count: int) -> list[int]:
    return [(await harness.client.get("/resources/users/u-jane")).status_code for _ in range(count)]


async def test_latency_is_added_to_every_resource_request(make_harness: MakeHarness) -> None:
    harness = make_harness(faults={"latency_ms": 250})

    await harness.client.get("/resources/users/u-jane")
    await harness.control.get("/resources/users/u-jane")  # even an unauthenticated one
    await harness.control.get("/_sandbox/health")  # but not the control API

    assert harness.sleeps == [0.25, 0.25]


async def test_jitter_stays_in_range_and_repeats_with_the_seed(make_harness: MakeHarness) -> None:
    runs = []
    for _ in range(2):
        harness = make_harness(faults={"latency_ms": 100, "latency_jitter_ms": 50}, random_seed=7)
        await statuses(harness, 20)
        runs.append(harness.sleeps)

    assert runs[0] == runs[1]
    assert all(0.1 <= s <= 0.15 for s in runs[0])
    assert len(set(runs[0])) > 1


async def test_slow_requests_take_slow_ms_extra(make_harness: MakeHarness) -> None:
    harness = make_harness(faults={"slow_rate": 1.0, "slow_ms": 5000, "latency_ms": 10})

    assert await statuses(harness, 1) == [200]
    assert harness.sleeps == [5.01]


async def test_error_rate_answers_before_any_effect(make_harness: MakeHarness) -> None:
    harness = make_harness(faults={"error_rate": 1.0})

    response = await harness.post_conversation()

    assert response.status_code == 503
    assert response.json() == {"error": "Service Unavailable"}
    assert "RateLimit-Remaining" in response.headers
    assert (await harness.stats())["conversations"] == 0
    assert (await harness.stats())["byStatus"] == {"503": 1}


async def test_error_status_is_configurable(make_harness: MakeHarness) -> None:
    harness = make_harness(faults={"error_rate": 1.0, "error_status": 502})

    assert await statuses(harness, 2) == [502, 502]


async def test_partial_error_rate_is_deterministic_for_a_seed(make_harness: MakeHarness) -> None:
    runs = []
    for _ in range(2):
        harness = make_harness(faults={"error_rate": 0.5}, random_seed=42)
        runs.append(await statuses(harness, 40))

    assert runs[0] == runs[1]
    assert 5 < runs[0].count(503) < 35
    assert set(runs[0]) == {200, 503}


async def test_outage_answers_503_until_it_ends(harness: Harness) -> None:
    await harness.control.put("/_sandbox/faults", json={"outage_seconds": 30})

    during = await statuses(harness, 2)
    anonymous = await harness.control.get("/resources/users/u-jane")
    harness.clock.advance(30)
    after = await statuses(harness, 1)

    assert during == [503, 503]
    assert anonymous.status_code == 503
    assert after == [200]


async def test_outage_until_takes_an_absolute_time(harness: Harness) -> None:
    until = harness.clock.now() + 5
    await harness.control.put("/_sandbox/faults", json={"outage_until": until})

    before = await statuses(harness, 1)
    harness.clock.advance(5)

    assert before + await statuses(harness, 1) == [503, 200]


async def test_ambiguous_post_writes_but_answers_500(make_harness: MakeHarness) -> None:
    harness = make_harness(faults={"ambiguous_rate": 1.0})

    response = await harness.post_conversation(externalId="thread-lost")
    listed = await harness.client.get("/resources/conversations")

    assert response.status_code == 500
    assert [c["externalId"] for c in await harness.stored()] == ["thread-lost"]
    assert listed.status_code == 200  # reads are never ambiguous
    assert [c["externalId"] for c in listed.json()["results"]] == ["thread-lost"]


async def test_ambiguous_post_that_fails_validation_says_so(make_harness: MakeHarness) -> None:
    harness = make_harness(faults={"ambiguous_rate": 1.0})

    response = await harness.client.post("/resources/conversations", json={"externalId": "t"})

    assert response.status_code == 400
    assert (await harness.stats())["conversations"] == 0


async def test_org_override_bends_only_that_org(harness: Harness) -> None:
    await harness.control.put("/_sandbox/orgs/acme/faults", json={"error_rate": 1.0})

    acme = await statuses(harness, 1)
    globex = await harness.client.get("/resources/users/g-ann", headers=auth(GLOBEX_TOKEN))
    await harness.control.put("/_sandbox/orgs/acme/faults", json={"error_rate": None})

    assert acme == [503]
    assert globex.status_code == 200
    assert await statuses(harness, 1) == [200]


async def test_faults_change_at_runtime_and_null_restores_defaults(harness: Harness) -> None:
    changed = await harness.control.put("/_sandbox/faults", json={"latency_ms": 40})
    await statuses(harness, 1)
    restored = await harness.control.put("/_sandbox/faults", json={"latency_ms": None})
    await statuses(harness, 1)

    assert changed.json()["latency_ms"] == 40
    assert restored.json()["latency_ms"] == 0
    assert harness.sleeps == [0.04]


@pytest.mark.parametrize(
    "body",
    [{"error_rate": 1.5}, {"latency_ms": -1}, {"error_status": 200}, {"no_such_fault": 1}],
)
async def test_invalid_fault_settings_are_refused(harness: Harness, body: dict[str, float]) -> None:
    response = await harness.control.put("/_sandbox/faults", json=body)

    assert response.status_code == 400
    assert (await harness.control.get("/_sandbox/faults")).json()["global"]["error_rate"] == 0
