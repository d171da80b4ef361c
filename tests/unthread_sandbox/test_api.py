"""The API routes: auth, the users list (filters, order, select, cursors), conversations."""

from __future__ import annotations

from typing import Any

import pytest
from sandboxkit.clock import to_iso
from unthread_sandbox.listing import ListRequest, list_page

from tests.unthread_sandbox.conftest import CONV, DISABLED_KEY, GLOBEX_KEY, Harness


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"X-Api-Key": "nope"}, 401), ({"X-Api-Key": DISABLED_KEY}, 403)],
)
async def test_auth(harness: Harness, headers: dict[str, str], status: int) -> None:
    response = await harness.control.post("/api/users/list", json={}, headers=headers)
    assert response.status_code == status
    assert "error" in response.json()


async def test_users_by_slack_id(harness: Harness) -> None:
    where = [{"field": "slackId", "operator": "==", "value": "U08D38QMGQ7"}]
    body = (await harness.users(where=where)).json()
    assert body["totalCount"] == 1
    assert body["data"] == [
        {"id": "9a1b-jane", "name": "Jane Doe", "email": "jane@customer.example",
         "slackId": "U08D38QMGQ7", "photo": None}
    ]  # fmt: skip
    assert body["cursors"] == {"hasNext": False, "hasPrevious": False}


async def test_users_by_id_and_no_match(harness: Harness) -> None:
    by_id = await harness.users(where=[{"field": "id", "operator": "==", "value": "9a1b-bob"}])
    assert [u["email"] for u in by_id.json()["data"]] == ["bob@customer.example"]
    none = await harness.users(where=[{"field": "id", "operator": "==", "value": "9a1b-zed"}])
    assert none.json()["data"] == [] and none.json()["totalCount"] == 0


@pytest.mark.parametrize(
    ("condition", "ids"),
    [
        ({"field": "slackId", "operator": "in", "value": ["U0SAM", "U0BOB"]},
         ["4e1cc76a-agent", "9a1b-bob"]),
        ({"field": "email", "operator": "contains", "value": "customer"},
         ["9a1b-bob", "9a1b-jane"]),
        ({"field": "email", "operator": "like", "value": "%@vendor.example"}, ["4e1cc76a-agent"]),
        ({"field": "slackId", "operator": "notIn", "value": ["U0SAM"]}, ["9a1b-bob", "9a1b-jane"]),
        ({"field": "name", "operator": ">", "value": "C"}, ["9a1b-jane", "4e1cc76a-agent"]),
    ],
)  # fmt: skip
async def test_where_operators(harness: Harness, condition: dict[str, Any], ids: list[str]) -> None:
    order = ["name"] if condition["operator"] == ">" else ["id"]
    body = (await harness.users(where=[condition], order=order)).json()
    assert [u["id"] for u in body["data"]] == ids


async def test_cursors_page_through_in_order(harness: Harness) -> None:
    first = (await harness.users(limit=2, order=["id"], select=["id"])).json()
    assert first["data"] == [{"id": "4e1cc76a-agent"}, {"id": "9a1b-bob"}]
    assert first["cursors"]["hasNext"] and not first["cursors"]["hasPrevious"]
    second = (await harness.users(limit=2, order=["id"], select=["id"],
                                  cursor=first["cursors"]["next"])).json()  # fmt: skip
    assert second["data"] == [{"id": "9a1b-jane"}]
    assert second["cursors"]["hasPrevious"] and not second["cursors"]["hasNext"]
    assert second["totalCount"] == 3


async def test_descending(harness: Harness) -> None:
    body = (await harness.users(order=["id"], descending=True, select=["id"])).json()
    assert [u["id"] for u in body["data"]] == ["9a1b-jane", "9a1b-bob", "4e1cc76a-agent"]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 101},
        {"limit": 0},
        {"cursor": "not-a-cursor"},
        {"where": [{"field": "id", "operator": "~=", "value": "x"}]},
        {"where": [{"field": "id", "operator": "in", "value": "x"}]},
        {"unknown": 1},
    ],
)
async def test_bad_list_requests_are_400(harness: Harness, query: dict[str, Any]) -> None:
    assert (await harness.users(**query)).status_code == 400


async def test_cursor_of_another_query_is_refused(harness: Harness) -> None:
    first = (await harness.users(limit=1)).json()
    other = await harness.users(limit=1, descending=True, cursor=first["cursors"]["next"])
    assert other.status_code == 400


async def test_conversation_expands_people(harness: Harness) -> None:
    response = await harness.client.get(f"/api/conversations/{CONV}")
    assert response.status_code == 200
    body = response.json()
    assert body["submitterUser"]["email"] == "jane@customer.example"
    assert body["assignedToUser"]["email"] == "sam@vendor.example"
    assert body["initialMessage"]["user"]["email"] == "jane@customer.example"
    assert body["initialMessage"]["conversationId"] == CONV
    assert body["initialMessage"]["sentByUser"] is None
    assert "submitterUserId" not in body
    assert (body["status"], body["title"]) == ("open", "CSV export fails")


async def test_conversation_not_found_nor_across_tenants(harness: Harness) -> None:
    assert (await harness.client.get("/api/conversations/nope")).status_code == 404
    other = await harness.control.get(
        f"/api/conversations/{CONV}", headers={"X-Api-Key": GLOBEX_KEY}
    )
    assert other.status_code == 404


async def test_unknown_route_is_json_404(harness: Harness) -> None:
    response = await harness.client.get("/api/nothing")
    assert response.status_code == 404 and "error" in response.json()


def test_order_sorts_numbers_by_value_and_missing_first() -> None:
    records: list[dict[str, Any]] = [
        {"id": "a", "n": 10},
        {"id": "b", "n": 9},
        {"id": "c"},
        {"id": "d", "n": 9.5},
    ]
    page = list_page(records, ListRequest(order=["n", "id"], select=["id"]))
    assert [r["id"] for r in page["data"]] == ["c", "b", "d", "a"]


async def _seed_thread(harness: Harness, count: int) -> list[str]:
    ids = []
    for n in range(count):
        conv = f"conv-{n:03d}"
        ids.append(conv)
        body = {"id": conv, "title": f"t{n}", "status": "open",
                "createdAt": f"2026-11-{n % 28 + 1:02d}T10:00:00Z",
                "updatedAt": f"2026-12-01T10:00:{n % 60:02d}.000Z",
                "initialMessage": {"id": f"{conv}-m0", "ts": "1748707942.000100", "text": "hi",
                                   "userId": "U0BOB"}}  # fmt: skip
        response = await harness.control.post("/_sandbox/tenants/T01ACME/conversations", json=body)
        assert response.status_code == 201
    return ids


async def test_conversations_list_filters_by_time_and_pages(harness: Harness) -> None:
    await _seed_thread(harness, 30)
    where = [{"field": "createdAt", "operator": ">", "value": "2026-11-20T00:00:00.000Z"}]
    seen: list[str] = []
    query: dict[str, Any] = {"where": where, "order": ["createdAt", "id"], "limit": 4}
    while True:
        body = (await harness.client.post("/api/conversations/list", json=query)).json()
        seen += [c["id"] for c in body["data"]]
        if not body["cursors"]["hasNext"]:
            break
        query = {**query, "cursor": body["cursors"]["next"]}
    # Days 20..28 (n = 19..27) are after the bound; the seeded CONV is from 2026-11-25.
    assert sorted(seen) == sorted([f"conv-{n:03d}" for n in range(19, 28)] + [CONV])
    assert len(seen) == len(set(seen)) == body["totalCount"]


async def test_messages_list_edit_delete_through_control(harness: Harness) -> None:
    (conv,) = await _seed_thread(harness, 1)
    base = f"/_sandbox/tenants/T01ACME/conversations/{conv}/messages"
    harness.clock.advance(60)
    second = {"id": "m2", "ts": "1748707950.000200", "text": "second", "userId": "U0SAM"}
    posted = await harness.control.post(base, json=second)
    assert posted.status_code == 201
    await harness.control.post(base, json={"id": "m1", "ts": "1748707945.000100", "text": "first"})
    assert (await harness.control.patch(f"{base}/m2", json={"text": "edited"})).status_code == 200
    assert (await harness.control.delete(f"{base}/m1")).status_code == 200
    body = (await harness.client.post(f"/api/conversations/{conv}/messages/list", json={})).json()
    assert [m["id"] for m in body["data"]] == [f"{conv}-m0", "m1", "m2"]
    first, second = body["data"][1], body["data"][2]
    assert first["deletedAt"] and first["text"] == ""
    assert second["text"] == "edited" and second["updatedAt"]
    assert second["user"]["email"] == "sam@vendor.example"
    listed = (await harness.client.post("/api/conversations/list", json={})).json()["data"]
    updated = next(c for c in listed if c["id"] == conv)["updatedAt"]
    assert updated == to_iso(harness.clock.now())
    missing = await harness.client.post("/api/conversations/nope/messages/list", json={})
    assert missing.status_code == 404
    other = await harness.control.post(
        f"/api/conversations/{conv}/messages/list", json={}, headers={"X-Api-Key": GLOBEX_KEY}
    )
    assert other.status_code == 404


async def test_list_endpoints_need_a_key(harness: Harness) -> None:
    response = await harness.control.post("/api/conversations/list", json={})
    assert response.status_code == 401
