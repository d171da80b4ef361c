"""The /_sandbox control API: orgs, people, tokens, inspection, reset."""

from __future__ import annotations

import hashlib
import json
import uuid
from importlib import resources

from vitally_sandbox import SeedFile

from tests.sandbox.conftest import ACME_TOKEN, GLOBEX_TOKEN, Harness, MakeHarness, auth, message


async def test_health(harness: Harness) -> None:
    response = await harness.control.get("/_sandbox/health")

    assert response.json() == {"status": "ok"}


async def test_post_org_generates_ids_and_reports_tokens(harness: Harness) -> None:
    response = await harness.control.post(
        "/_sandbox/orgs",
        json={
            "subdomain": "initech",
            "tokens": ["tok1", {"token": "tok2", "scopes": ["users"]}],
            "users": [{"email": "peter@initech.example", "name": "Peter"}],
            "admins": [{"email": "bill@initech.example"}],
        },
    )

    assert response.status_code == 200
    org = response.json()
    assert org["tokens"] == [
        {"token": "tok1", "scopes": ["admins", "conversations", "users"]},
        {"token": "tok2", "scopes": ["users"]},
    ]
    assert org["rateLimit"] == 1000
    assert uuid.UUID(org["users"][0]["id"]).version == 4
    assert org["admins"][0]["licenseStatus"] == "active"
    found = await harness.client.get(
        "/resources/admins/search?email=bill@initech.example", headers=auth("tok1")
    )
    assert found.json()["id"] == org["admins"][0]["id"]


async def test_posting_an_org_again_replaces_it_whole(harness: Harness) -> None:
    await harness.post_conversation()

    await harness.control.post("/_sandbox/orgs", json={"subdomain": "acme", "tokens": ["new"]})

    assert await harness.stored() == []
    assert (await harness.client.get("/resources/users/u-jane")).status_code == 401
    assert (await harness.client.get("/resources/users", headers=auth("new"))).json() == {
        "results": [],
        "next": None,
    }


async def test_a_token_belongs_to_one_org(harness: Harness) -> None:
    response = await harness.control.post(
        "/_sandbox/orgs", json={"subdomain": "initech", "tokens": [GLOBEX_TOKEN]}
    )

    assert response.status_code == 409
    assert (await harness.control.get("/_sandbox/orgs/initech")).status_code == 404


async def test_control_bodies_reject_unknown_fields(harness: Harness) -> None:
    response = await harness.control.post(
        "/_sandbox/orgs", json={"subdomain": "initech", "token": ["typo"]}
    )

    assert response.status_code == 400
    assert "token" in response.json()["message"]


async def test_add_and_delete_people(harness: Harness) -> None:
    added = await harness.control.post(
        "/_sandbox/orgs/acme/users", json={"id": "u-new", "email": "new@customer.example"}
    )
    clash = await harness.control.post(
        "/_sandbox/orgs/acme/users", json={"id": "u-new", "email": "other@customer.example"}
    )
    admin = await harness.control.post(
        "/_sandbox/orgs/acme/admins", json={"email": "ops@vendor.example", "name": "Ops"}
    )
    admin_id = admin.json()["id"]

    assert (added.status_code, clash.status_code, admin.status_code) == (201, 409, 201)
    assert (await harness.client.get("/resources/users/u-new")).status_code == 200
    assert (await harness.control.delete("/_sandbox/orgs/acme/users/u-new")).status_code == 204
    assert (
        await harness.control.delete(f"/_sandbox/orgs/acme/admins/{admin_id}")
    ).status_code == 204
    assert (await harness.control.delete("/_sandbox/orgs/acme/users/u-new")).status_code == 404
    assert (await harness.client.get("/resources/users/u-new")).status_code == 404
    search = await harness.client.get("/resources/admins/search?email=ops@vendor.example")
    assert search.status_code == 404


async def test_deleted_participant_can_no_longer_be_messaged(harness: Harness) -> None:
    await harness.control.delete("/_sandbox/orgs/acme/admins/a-sam")

    response = await harness.post_conversation()

    assert response.status_code == 400


async def test_token_rotation(harness: Harness) -> None:
    response = await harness.control.put(
        "/_sandbox/orgs/acme/tokens", json={"tokens": ["acme-rotated"]}
    )

    assert response.status_code == 200
    old = await harness.client.get("/resources/users/u-jane")
    new = await harness.client.get("/resources/users/u-jane", headers=auth("acme-rotated"))
    assert (old.status_code, new.status_code) == (401, 200)


async def test_conversations_come_in_creation_order_with_all_messages(harness: Harness) -> None:
    first = (await harness.post_conversation(externalId="first")).json()
    harness.clock.advance(1)
    await harness.post_conversation(externalId="second")
    harness.clock.advance(1)
    await harness.client.post(f"/resources/conversations/{first['id']}/messages", json=message("r"))

    stored = await harness.stored()

    assert [c["externalId"] for c in stored] == ["first", "second"]
    assert [m["externalId"] for m in stored[0]["messages"]] == ["m-1", "r"]


async def test_stored_messages_carry_the_sandbox_receive_time(harness: Harness) -> None:
    # The client's `timestamp` says when the message was written upstream; `receivedAt` says
    # when the sandbox stored it, which is what a benchmark times end to end.
    created = (await harness.post_conversation()).json()
    harness.clock.advance(2.5)
    stamped = message("r", timestamp="2020-12-11T20:16:27.370Z")
    await harness.client.post(f"/resources/conversations/{created['id']}/messages", json=stamped)
    api_view = await harness.client.get(f"/resources/conversations/{created['id']}")

    first, reply = (await harness.stored())[0]["messages"]

    assert first["receivedAt"] == "2023-11-14T22:13:20.000Z"
    assert (reply["timestamp"], reply["receivedAt"]) == (
        "2020-12-11T20:16:27.370Z",
        "2023-11-14T22:13:22.500Z",
    )
    assert all("receivedAt" not in m for m in api_view.json()["messages"])


async def test_stats_count_by_status_and_route(harness: Harness) -> None:
    created = (await harness.post_conversation()).json()
    await harness.client.post(f"/resources/conversations/{created['id']}/messages", json=message())
    await harness.client.get("/resources/users/nobody")
    await harness.client.get("/resources/users/u-jane")
    await harness.control.get("/resources/users/u-jane")  # no org: not in acme's stats

    stats = await harness.stats()

    assert stats == {
        "requests": 4,
        "byStatus": {"200": 3, "404": 1},
        "byRoute": {
            "POST /resources/conversations": 1,
            "POST /resources/conversations/{id}/messages": 1,
            "GET /resources/users/{id}": 2,
        },
        "conversations": 1,
        "messages": 2,
    }


async def test_request_log_names_tokens_by_fingerprint_only(harness: Harness) -> None:
    await harness.client.get("/resources/users/u-jane")
    await harness.client.get("/resources/users/u-jane", headers=auth(GLOBEX_TOKEN))
    await harness.control.get("/resources/users/u-jane")

    everything = await harness.control.get("/_sandbox/requests")
    acme = (await harness.control.get("/_sandbox/requests?org=acme")).json()
    last = (await harness.control.get("/_sandbox/requests?limit=1")).json()

    assert ACME_TOKEN not in everything.text
    assert [(e["org"], e["status"]) for e in everything.json()] == [
        ("acme", 200),
        ("globex", 404),
        (None, 401),
    ]
    assert acme == [
        {
            "method": "GET",
            "path": "/resources/users/u-jane",
            "status": 200,
            "org": "acme",
            "tokenFingerprint": hashlib.sha256(ACME_TOKEN.encode()).hexdigest()[:12],
            "at": "2023-11-14T22:13:20.000Z",
        }
    ]
    assert last[0]["tokenFingerprint"] is None


async def test_reset_wipes_everything_and_reseed_restores_the_seed(
    make_harness: MakeHarness,
) -> None:
    harness = make_harness(faults={"latency_ms": 5})
    await harness.post_conversation()
    await harness.control.put("/_sandbox/faults", json={"error_rate": 1.0})

    wiped = await harness.control.post("/_sandbox/reset")
    faults = (await harness.control.get("/_sandbox/faults")).json()["global"]
    log = (await harness.control.get("/_sandbox/requests")).json()
    reseeded = await harness.control.post("/_sandbox/reset", json={"reseed": True})

    assert wiped.json() == {"status": "reset", "orgs": []}
    assert (faults["error_rate"], faults["latency_ms"]) == (0, 5)  # back to start-up faults
    assert log == []
    assert reseeded.json()["orgs"] == ["acme", "globex"]
    assert await harness.stored() == []


async def test_unknown_org_is_404(harness: Harness) -> None:
    response = await harness.control.get("/_sandbox/orgs/nope/stats")

    assert response.status_code == 404
    assert response.json() == {"error": "Org not found"}


async def test_unknown_resource_paths_and_methods_answer_json(harness: Harness) -> None:
    missing = await harness.client.get("/resources/accounts")
    wrong_method = await harness.client.delete("/resources/conversations")

    assert (missing.status_code, missing.json()) == (404, {"error": "Not Found"})
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"error": "Method Not Allowed"})
    assert set(wrong_method.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert "RateLimit-Remaining" in wrong_method.headers


def test_demo_seed_holds_the_demo_orgs() -> None:
    text = resources.files("vitally_sandbox").joinpath("demo_seed.json").read_text()
    seed = SeedFile.model_validate(json.loads(text))

    acme, globex = seed.orgs
    assert (acme.subdomain, acme.tokens) == ("acme", ["demo-acme-secret"])
    assert [u.email for u in acme.users] == ["jane@customer.example", "bob@customer.example"]
    assert [(a.email, a.license_status) for a in acme.admins] == [
        ("sam@vendor.example", "active"),
        ("ops@vendor.example", "active"),
        ("old@vendor.example", "deactivated"),
    ]
    assert (globex.subdomain, globex.tokens) == ("globex", ["demo-globex-secret"])
    assert [u.email for u in globex.users] == ["ann@globex.example"]
    assert [a.email for a in globex.admins] == ["ops@vendor.example"]
