"""The control API: seeding, faults, rate limits and the request log."""

from __future__ import annotations

from tests.unthread_sandbox.conftest import ACME_KEY, GLOBEX_KEY, Harness, MakeHarness


async def test_seed_users_and_conversations_at_runtime(harness: Harness) -> None:
    added = await harness.control.post(
        "/_sandbox/tenants/T01ACME/users",
        json={"email": "new@customer.example", "slackId": "U0NEW"},
    )
    assert added.status_code == 201 and added.json()["id"]
    where = [{"field": "slackId", "operator": "==", "value": "U0NEW"}]
    assert (await harness.users(where=where)).json()["totalCount"] == 1
    conv = await harness.control.post("/_sandbox/tenants/T01ACME/conversations", json={"id": "c-2"})
    assert conv.status_code == 201
    got = (await harness.client.get("/api/conversations/c-2")).json()
    assert got == {"id": "c-2", "submitterUser": None, "assignedToUser": None}


async def test_a_key_opens_one_tenant_only(harness: Harness) -> None:
    taken = await harness.control.post("/_sandbox/tenants", json={"id": "T03", "keys": [ACME_KEY]})
    assert taken.status_code == 409
    tenant = (await harness.control.get("/_sandbox/tenants/T01ACME")).json()
    assert ACME_KEY not in str(tenant)


async def test_rotating_keys(harness: Harness) -> None:
    await harness.control.put("/_sandbox/tenants/T01ACME/keys", json={"keys": ["fresh"]})
    assert (await harness.users()).status_code == 401
    fresh = await harness.control.post("/api/users/list", json={}, headers={"X-Api-Key": "fresh"})
    assert fresh.status_code == 200


async def test_error_rate_and_outage(make_harness: MakeHarness) -> None:
    harness = make_harness(faults={"error_rate": 1.0, "error_status": 502})
    assert (await harness.users()).status_code == 502
    await harness.control.put("/_sandbox/faults", json={"error_rate": None, "outage_seconds": 5})
    assert (await harness.users()).status_code == 503
    harness.clock.advance(6)
    assert (await harness.users()).status_code == 200


async def test_latency_is_slept(make_harness: MakeHarness) -> None:
    harness = make_harness(faults={"latency_ms": 250})
    await harness.users()
    assert harness.sleeps == [0.25]


async def test_rate_limit_per_tenant_with_retry_after(make_harness: MakeHarness) -> None:
    harness = make_harness()
    await harness.control.put("/_sandbox/tenants/T01ACME/faults", json={"rate_limit": 2})
    await harness.control.put("/_sandbox/faults", json={"retry_after_header": True})
    assert [(await harness.users()).status_code for _ in range(2)] == [200, 200]
    limited = await harness.users()
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    other = await harness.control.post(
        "/api/users/list", json={}, headers={"X-Api-Key": GLOBEX_KEY}
    )
    assert other.status_code == 200
    harness.clock.advance(60)
    assert (await harness.users()).status_code == 200


async def test_bare_429_without_retry_after(make_harness: MakeHarness) -> None:
    harness = make_harness()
    await harness.control.put("/_sandbox/tenants/T01ACME/faults", json={"rate_limit": 1})
    await harness.users()
    limited = await harness.users()
    assert limited.status_code == 429 and "Retry-After" not in limited.headers


async def test_request_log_and_stats_name_keys_by_fingerprint(harness: Harness) -> None:
    await harness.users()
    await harness.client.get("/api/conversations/nope")
    log = (await harness.control.get("/_sandbox/requests", params={"tenant": "T01ACME"})).json()
    assert [(e["method"], e["status"]) for e in log] == [("POST", 200), ("GET", 404)]
    assert all(ACME_KEY not in str(e) and e["tokenFingerprint"] for e in log)
    stats = (await harness.control.get("/_sandbox/tenants/T01ACME/stats")).json()
    assert stats["byRoute"] == {"POST /api/users/list": 1, "GET /api/conversations/{id}": 1}


async def test_reset(harness: Harness) -> None:
    await harness.control.post("/_sandbox/reset", json={})
    assert (await harness.users()).status_code == 401
    await harness.control.post("/_sandbox/reset", json={"reseed": True})
    assert (await harness.users()).status_code == 200
