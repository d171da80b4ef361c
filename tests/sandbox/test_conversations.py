"""Conversations and messages: create, validation, reads, list order and pages, appends."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.sandbox.conftest import Harness, conversation, message


def is_uuid4(value: str) -> bool:
    return uuid.UUID(value).version == 4


async def test_create_returns_the_stored_conversation(harness: Harness) -> None:
    stamped = message(
        "m-2",
        ("admin", "a-sam"),
        ("user", "u-jane"),
        timestamp="2020-12-11T20:16:27.370Z",
        cc=[{"type": "user", "id": "u-bob"}],
    )
    response = await harness.post_conversation(messages=[message("m-1"), stamped])

    assert response.status_code == 200
    body = response.json()
    assert is_uuid4(body["id"])
    assert (body["externalId"], body["subject"]) == ("thread-1", "Help")
    assert body["traits"] == {"source": "unthread"}
    assert body["createdAt"] == body["updatedAt"] == "2023-11-14T22:13:20.000Z"
    inbound, outbound = body["messages"]
    assert inbound == {
        "id": inbound["id"],
        "type": "inbound",
        "externalId": "m-1",
        "conversationId": body["id"],
        "message": "<p>Hello</p>",
        "timestamp": "2023-11-14T22:13:20.000Z",
        "from": {"type": "user", "id": "u-jane"},
        "to": [{"type": "admin", "id": "a-sam"}],
        "cc": [],
        "bcc": [],
    }
    assert is_uuid4(inbound["id"])
    assert outbound["type"] == "outbound"
    assert outbound["timestamp"] == "2020-12-11T20:16:27.370Z"
    assert outbound["cc"] == [{"type": "user", "id": "u-bob"}]


async def test_create_ignores_unknown_fields(harness: Harness) -> None:
    response = await harness.post_conversation(
        externalUrl="https://unthread.example/t/1", status="closed",
        messages=[message(conversationId="x", internal=True)],
    )  # fmt: skip

    assert response.status_code == 200
    assert "externalUrl" not in response.json()
    assert "status" not in response.json()


async def test_subject_and_traits_are_optional(harness: Harness) -> None:
    response = await harness.client.post(
        "/resources/conversations", json={"externalId": "t", "messages": [message()]}
    )

    assert response.status_code == 200
    assert (response.json()["subject"], response.json()["traits"]) == (None, {})


def without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


INVALID_BODIES: list[tuple[str, Any, str]] = [
    ("list-body", [conversation()], ""),
    ("no-external-id", without(conversation(), "externalId"), "externalId is required"),
    ("empty-external-id", conversation(""), "externalId"),
    ("numeric-external-id", conversation(externalId=12), "externalId"),
    ("no-messages", without(conversation(), "messages"), "messages is required"),
    ("empty-messages", conversation(messages=[]), "messages"),
    ("numeric-subject", conversation(subject=5), "subject"),
    ("list-traits", conversation(traits=["a"]), "traits"),
    ("message-no-external-id", conversation(messages=[without(message(), "externalId")]),
     "messages[0].externalId is required"),
    ("message-no-body", conversation(messages=[without(message(), "message")]),
     "messages[0].message is required"),
    ("message-numeric-body", conversation(messages=[message(message=3)]), "messages[0].message"),
    ("message-no-from", conversation(messages=[without(message(), "from")]),
     "messages[0].from is required"),
    ("message-no-to", conversation(messages=[without(message(), "to")]),
     "messages[0].to is required"),
    ("message-empty-to", conversation(messages=[{**message(), "to": []}]), "messages[0].to"),
    ("bad-participant-type", conversation(messages=[message(sender=("bot", "u-jane"))]),
     "messages[0].from.type"),
    ("participant-without-id", conversation(messages=[{**message(), "from": {"type": "user"}}]),
     "messages[0].from.id is required"),
    ("unknown-sender", conversation(messages=[message(sender=("user", "u-nobody"))]),
     "messages[0].from.id: no user with id 'u-nobody'"),
    ("user-id-as-admin", conversation(messages=[message(to=("admin", "u-bob"))]),
     "messages[0].to[0].id: no admin with id 'u-bob'"),
    ("unknown-cc", conversation(messages=[message(cc=[{"type": "user", "id": "x"}])]),
     "messages[0].cc[0].id"),
    ("other-orgs-user", conversation(messages=[message(sender=("user", "g-ann"))]),
     "no user with id 'g-ann'"),
    ("bad-timestamp", conversation(messages=[message(timestamp="yesterday")]),
     "messages[0].timestamp"),
    ("numeric-timestamp", conversation(messages=[message(timestamp=1607717787)]),
     "messages[0].timestamp"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "says"), [pytest.param(b, s, id=i) for i, b, s in INVALID_BODIES])
async def test_create_rejects_invalid_body_without_effect(
    harness: Harness, body: Any, says: str
) -> None:
    response = await harness.client.post("/resources/conversations", json=body)

    assert response.status_code == 400
    assert says in response.json()["message"]
    assert (await harness.stats())["conversations"] == 0


async def test_create_rejects_a_body_that_is_not_json(harness: Harness) -> None:
    response = await harness.client.post("/resources/conversations", content=b"{not json")

    assert response.status_code == 400
    assert response.json()["message"]


async def test_get_conversation_includes_messages(harness: Harness) -> None:
    created = (await harness.post_conversation()).json()

    response = await harness.client.get(f"/resources/conversations/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created


async def test_get_conversation_by_external_id_is_404(harness: Harness) -> None:
    await harness.post_conversation(externalId="thread-9")

    response = await harness.client.get("/resources/conversations/thread-9")

    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


async def test_add_message_appends_and_bumps_updated_at(harness: Harness) -> None:
    created = (await harness.post_conversation()).json()
    harness.clock.advance(5)

    reply = message("m-2", ("admin", "a-sam"), ("user", "u-jane"), conversationId="thread-1")
    response = await harness.client.post(
        f"/resources/conversations/{created['id']}/messages", json=reply
    )

    assert response.status_code == 200
    stored = response.json()
    assert (stored["type"], stored["conversationId"]) == ("outbound", created["id"])
    assert stored["externalId"] == "m-2"
    fetched = (await harness.client.get(f"/resources/conversations/{created['id']}")).json()
    assert [m["externalId"] for m in fetched["messages"]] == ["m-1", "m-2"]
    assert fetched["updatedAt"] == "2023-11-14T22:13:25.000Z"
    assert fetched["createdAt"] == created["createdAt"]


async def test_add_message_to_unknown_conversation_is_404(harness: Harness) -> None:
    response = await harness.client.post(
        "/resources/conversations/no-such-id/messages", json=message()
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (message(to=("user", "u-ghost")), "to[0].id: no user with id 'u-ghost'"),
        ({"externalId": "m"}, "message is required"),
    ],
)
async def test_add_message_validates_like_create(
    harness: Harness, body: dict[str, Any], says: str
) -> None:
    created = (await harness.post_conversation()).json()

    response = await harness.client.post(
        f"/resources/conversations/{created['id']}/messages", json=body
    )

    assert response.status_code == 400
    assert says in response.json()["message"]
    assert (await harness.stats())["messages"] == 1


async def create_three(harness: Harness) -> list[str]:
    """Conversations a, b, c, one second apart; then a gets a reply, so it was updated last."""
    ids = []
    for name in ("a", "b", "c"):
        ids.append((await harness.post_conversation(externalId=name)).json()["id"])
        harness.clock.advance(1)
    await harness.client.post(f"/resources/conversations/{ids[0]}/messages", json=message("r"))
    return ids


async def test_list_is_newest_first_by_updated_at_without_messages(harness: Harness) -> None:
    await create_three(harness)

    body = (await harness.client.get("/resources/conversations")).json()

    assert [c["externalId"] for c in body["results"]] == ["a", "c", "b"]
    assert all("messages" not in c for c in body["results"])
    assert body["next"] is None


async def test_list_by_created_at_ignores_updates(harness: Harness) -> None:
    await create_three(harness)

    body = (await harness.client.get("/resources/conversations?sortBy=createdAt")).json()

    assert [c["externalId"] for c in body["results"]] == ["c", "b", "a"]


async def test_list_pages_through_every_conversation_once(harness: Harness) -> None:
    for i in range(5):
        await harness.post_conversation(externalId=f"t{i}")  # same clock tick for all

    seen: list[str] = []
    cursor = ""
    while True:
        page = (await harness.client.get(f"/resources/conversations?limit=2{cursor}")).json()
        seen += [c["externalId"] for c in page["results"]]
        if page["next"] is None:
            break
        cursor = f"&from={page['next']}"

    assert seen == ["t4", "t3", "t2", "t1", "t0"]


async def test_cursor_of_one_sort_order_is_refused_for_another(harness: Harness) -> None:
    await create_three(harness)
    page = (await harness.client.get("/resources/conversations?limit=1")).json()

    response = await harness.client.get(
        f"/resources/conversations?sortBy=createdAt&from={page['next']}"
    )

    assert response.status_code == 400


# ----- PUT and DELETE /resources/conversations/:id -----


async def test_update_merges_traits_replaces_the_subject_and_bumps_updated_at(
    harness: Harness,
) -> None:
    created = (await harness.post_conversation(traits={"source": "unthread", "tier": 1})).json()
    harness.clock.advance(5)

    response = await harness.client.put(
        f"/resources/conversations/{created['id']}",
        json={"subject": "Help, again", "traits": {"tier": 2, "status": "closed"}},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["subject"] == "Help, again"
    assert body["traits"] == {"source": "unthread", "tier": 2, "status": "closed"}
    assert body["updatedAt"] == "2023-11-14T22:13:25.000Z"
    assert body["createdAt"] == created["createdAt"]
    assert body["messages"] == created["messages"]
    [stored] = await harness.stored()
    assert stored["traits"] == body["traits"]


async def test_update_with_a_null_trait_removes_it(harness: Harness) -> None:
    created = (await harness.post_conversation(traits={"source": "unthread", "tier": 1})).json()

    response = await harness.client.put(
        f"/resources/conversations/{created['id']}", json={"traits": {"tier": None}}
    )

    assert response.json()["traits"] == {"source": "unthread"}


async def test_update_leaves_what_it_does_not_name(harness: Harness) -> None:
    created = (await harness.post_conversation()).json()

    response = await harness.client.put(f"/resources/conversations/{created['id']}", json={})

    assert response.status_code == 200
    assert (response.json()["subject"], response.json()["traits"]) == ("Help", created["traits"])


async def test_update_ignores_read_only_fields(harness: Harness) -> None:
    created = (await harness.post_conversation()).json()

    response = await harness.client.put(
        f"/resources/conversations/{created['id']}",
        json={"status": "closed", "externalId": "other", "rating": 5, "source": "x"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["externalId"] == "thread-1"
    assert not {"status", "rating", "source"} & set(body)
    assert body["traits"] == created["traits"]


async def test_update_upserts_messages_by_external_id(harness: Harness) -> None:
    created = (await harness.post_conversation()).json()

    response = await harness.client.put(
        f"/resources/conversations/{created['id']}",
        json={"messages": [message(message="<p>Edited</p>"), message("m-2")]},
    )

    messages = response.json()["messages"]
    assert [(m["externalId"], m["message"]) for m in messages] == [
        ("m-1", "<p>Edited</p>"),
        ("m-2", "<p>Hello</p>"),
    ]
    assert messages[0]["id"] == created["messages"][0]["id"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"subject": 5}, "subject"),
        ({"traits": ["a"]}, "traits"),
        ({"messages": [message(sender=("user", "u-nobody"))]}, "no user with id 'u-nobody'"),
    ],
)
async def test_update_rejects_an_invalid_body_without_effect(
    harness: Harness, body: dict[str, Any], says: str
) -> None:
    created = (await harness.post_conversation()).json()

    response = await harness.client.put(f"/resources/conversations/{created['id']}", json=body)

    assert response.status_code == 400
    assert says in response.json()["message"]
    [stored] = await harness.stored()
    assert (stored["subject"], stored["traits"]) == ("Help", created["traits"])


async def test_update_of_an_unknown_conversation_is_404(harness: Harness) -> None:
    response = await harness.client.put("/resources/conversations/nope", json={"subject": "x"})

    assert response.status_code == 404


async def test_delete_removes_the_conversation_with_its_messages(harness: Harness) -> None:
    created = (await harness.post_conversation()).json()

    response = await harness.client.delete(f"/resources/conversations/{created['id']}")

    assert response.status_code == 204
    assert await harness.stored() == []
    assert (await harness.stats())["messages"] == 0
    again = await harness.client.delete(f"/resources/conversations/{created['id']}")
    assert again.status_code == 404
    gone = await harness.client.get(f"/resources/conversations/{created['id']}")
    assert gone.status_code == 404
