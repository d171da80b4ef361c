"""Users and admins: search shapes, the exactly-one rule, lookups and list pages."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import ACME_TOKEN, Harness


async def test_user_search_by_email_ignores_case_and_returns_results(harness: Harness) -> None:
    response = await harness.client.get("/resources/users/search?email=jane@customer.EXAMPLE")

    assert response.status_code == 200
    [user] = response.json()["results"]
    assert user["id"] == "u-jane"
    assert user["email"] == "Jane@Customer.example"
    assert user["name"] == "Jane Doe"
    assert user["externalId"] == "ext-jane"
    assert user["createdAt"].endswith("Z")


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("externalId=ext-jane", ["u-jane"]),
        ("externalId=EXT-JANE", []),
        ("emailSubdomain=customer.example", ["u-jane", "u-bob"]),
        ("email=nobody@customer.example", []),
    ],
)
async def test_user_search_keys(harness: Harness, query: str, ids: list[str]) -> None:
    response = await harness.client.get(f"/resources/users/search?{query}")

    assert response.status_code == 200
    assert [u["id"] for u in response.json()["results"]] == ids


@pytest.mark.parametrize(
    "query",
    ["", "email=a@b.example&externalId=x", "email=a@b.example&emailSubdomain=b.example", "email="],
)
async def test_user_search_needs_exactly_one_non_empty_key(harness: Harness, query: str) -> None:
    response = await harness.client.get(f"/resources/users/search?{query}")

    assert response.status_code == 400
    assert response.json()["message"]


async def test_user_search_returns_every_user_sharing_an_email(harness: Harness) -> None:
    await harness.control.post(
        "/_sandbox/orgs/acme/users", json={"id": "u-bob-2", "email": "BOB@customer.example"}
    )

    response = await harness.client.get("/resources/users/search?email=bob@customer.example")

    assert [u["id"] for u in response.json()["results"]] == ["u-bob", "u-bob-2"]


async def test_a_deactivated_user_is_found_with_its_deactivated_at(harness: Harness) -> None:
    await harness.control.post(
        "/_sandbox/orgs/acme/users",
        json={"id": "u-bob-old", "email": "bob@customer.example", "deactivated": True},
    )

    response = await harness.client.get("/resources/users/search?email=bob@customer.example")

    by_id = {u["id"]: u["deactivatedAt"] for u in response.json()["results"]}
    assert by_id["u-bob"] is None and by_id["u-bob-old"] is not None


async def test_get_user_by_vitally_id_only(harness: Harness) -> None:
    found = await harness.client.get("/resources/users/u-jane")
    by_external = await harness.client.get("/resources/users/ext-jane")

    assert found.status_code == 200
    assert found.json()["email"] == "Jane@Customer.example"
    assert by_external.status_code == 404
    assert by_external.json() == {"error": "Not found"}


async def test_user_list_pages_with_opaque_cursor(harness: Harness) -> None:
    first = (await harness.client.get("/resources/users?limit=2")).json()
    second = (await harness.client.get(f"/resources/users?limit=2&from={first['next']}")).json()

    assert len(first["results"]) == 2
    assert first["next"]
    assert len(second["results"]) == 1
    assert second["next"] is None
    seen = [u["id"] for u in first["results"] + second["results"]]
    assert sorted(seen) == ["u-ann", "u-bob", "u-jane"]


async def test_user_list_limit_caps_at_100(harness: Harness) -> None:
    users = [{"email": f"user{i}@bulk.example"} for i in range(105)]
    org = {"subdomain": "acme", "tokens": [ACME_TOKEN], "users": users}
    await harness.control.post("/_sandbox/orgs", json=org)

    page = (await harness.client.get("/resources/users?limit=500")).json()

    assert len(page["results"]) == 100
    assert page["next"] is not None


@pytest.mark.parametrize("query", ["limit=0", "limit=ten", "from=not-a-cursor", "sortBy=name"])
async def test_user_list_rejects_bad_paging(harness: Harness, query: str) -> None:
    response = await harness.client.get(f"/resources/users?{query}")

    assert response.status_code == 400
    assert "message" in response.json()


async def test_admin_search_returns_one_admin_object(harness: Harness) -> None:
    response = await harness.client.get("/resources/admins/search?email=SAM@vendor.example")

    assert response.status_code == 200
    assert response.json() == {
        "id": "a-sam",
        "name": "Sam Agent",
        "email": "sam@vendor.example",
        "licenseStatus": "active",
    }


async def test_admin_search_finds_deactivated_admins_with_their_status(harness: Harness) -> None:
    response = await harness.client.get("/resources/admins/search?email=old@vendor.example")

    assert response.json()["licenseStatus"] == "deactivated"


async def test_admin_search_miss_is_404(harness: Harness) -> None:
    response = await harness.client.get("/resources/admins/search?email=ops@vendor.example")

    assert response.status_code == 404
    assert response.json() == {"error": "Admin not found"}


@pytest.mark.parametrize("query", ["", "?email="])
async def test_admin_search_needs_email(harness: Harness, query: str) -> None:
    response = await harness.client.get(f"/resources/admins/search{query}")

    assert response.status_code == 400
    assert response.json() == {"message": "email is required"}
