"""The per-org sliding window and its RateLimit-* headers, stepped with a manual clock."""

from __future__ import annotations

import httpx

from tests.sandbox.conftest import GLOBEX_TOKEN, SEED, Harness, MakeHarness, auth

LIMITED_SEED = {"orgs": [{**SEED["orgs"][0], "rateLimit": 3}, SEED["orgs"][1]]}


def quota(response: httpx.Response) -> tuple[str, int, int]:
    headers = response.headers
    return (
        headers["RateLimit-Limit"],
        int(headers["RateLimit-Remaining"]),
        int(headers["RateLimit-Reset"]),
    )


async def hit(harness: Harness) -> httpx.Response:
    return await harness.client.get("/resources/users/u-jane")


async def test_every_answer_reports_the_window(harness: Harness) -> None:
    first = await hit(harness)
    harness.clock.advance(10.5)
    second = await hit(harness)

    assert quota(first) == ("1000, 1000;window=60", 999, 60)
    assert quota(second) == ("1000, 1000;window=60", 998, 50)


async def test_error_answers_carry_headers_and_count(harness: Harness) -> None:
    missing = await harness.client.get("/resources/users/nobody")
    bad_body = await harness.client.post("/resources/conversations", json={})
    unknown = await harness.client.get("/resources/unknown")

    assert [r.status_code for r in (missing, bad_body, unknown)] == [404, 400, 404]
    assert [quota(r)[1] for r in (missing, bad_body, unknown)] == [999, 998, 997]


async def test_over_the_limit_is_429_and_not_counted(make_harness: MakeHarness) -> None:
    harness = make_harness(seed=LIMITED_SEED)
    for _ in range(3):
        assert (await hit(harness)).status_code == 200
    harness.clock.advance(20)

    refused = await hit(harness)
    harness.clock.advance(40)  # the first three leave the window; the 429 never entered it
    after = await hit(harness)

    assert refused.status_code == 429
    assert refused.json() == {"error": "Too many requests"}
    assert quota(refused) == ("3, 3;window=60", 0, 40)
    assert "Retry-After" not in refused.headers
    assert after.status_code == 200
    assert quota(after)[1] == 2


async def test_window_slides_request_by_request(make_harness: MakeHarness) -> None:
    harness = make_harness(seed=LIMITED_SEED)
    for step in (0, 30, 10):  # requests at t=0, 30, 40
        harness.clock.advance(step)
        await hit(harness)

    harness.clock.advance(10)  # t=50: full until t=60
    full = await hit(harness)
    harness.clock.advance(10)  # t=60: the t=0 request has left
    freed = await hit(harness)
    blocked_again = await hit(harness)

    assert (full.status_code, quota(full)[2]) == (429, 10)
    assert (freed.status_code, quota(freed)[1:]) == (200, (0, 30))
    assert blocked_again.status_code == 429


async def test_retry_after_is_opt_in(make_harness: MakeHarness) -> None:
    harness = make_harness(seed=LIMITED_SEED, faults={"retry_after_header": True})
    for _ in range(3):
        await hit(harness)
    harness.clock.advance(15)

    refused = await hit(harness)

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "45"


async def test_each_org_has_its_own_window(make_harness: MakeHarness) -> None:
    harness = make_harness(seed=LIMITED_SEED)
    for _ in range(4):
        await hit(harness)

    globex = await harness.client.get("/resources/users/g-ann", headers=auth(GLOBEX_TOKEN))

    assert globex.status_code == 200
    assert quota(globex) == ("1000, 1000;window=60", 999, 60)


async def test_unauthenticated_answers_report_the_default_limit(harness: Harness) -> None:
    await hit(harness)

    anonymous = await harness.control.get("/resources/users/u-jane")

    assert anonymous.status_code == 401
    assert quota(anonymous) == ("1000, 1000;window=60", 1000, 0)


async def test_limit_changes_at_runtime_globally_and_per_org(harness: Harness) -> None:
    await harness.control.put("/_sandbox/faults", json={"rate_limit": 50})
    await harness.control.put("/_sandbox/orgs/globex/faults", json={"rate_limit": 2})

    acme = await hit(harness)
    globex = await harness.client.get("/resources/users/g-ann", headers=auth(GLOBEX_TOKEN))

    assert quota(acme)[0] == "50, 50;window=60"
    assert quota(globex)[0] == "2, 2;window=60"


async def test_org_created_with_a_limit_keeps_it_over_the_global_one(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(seed=LIMITED_SEED, faults={"rate_limit": 50})

    assert quota(await hit(harness))[0] == "3, 3;window=60"
