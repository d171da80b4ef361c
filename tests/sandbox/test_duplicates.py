"""Duplicate externalIds: by default stored again (the pessimistic reading), or refused."""

from __future__ import annotations

from tests.sandbox.conftest import Harness, message


async def add(harness: Harness, conversation_id: str, external_id: str) -> int:
    response = await harness.client.post(
        f"/resources/conversations/{conversation_id}/messages", json=message(external_id)
    )
    return response.status_code


async def test_same_conversation_external_id_creates_a_second_conversation(
    harness: Harness,
) -> None:
    first = await harness.post_conversation(externalId="thread-1")
    second = await harness.post_conversation(externalId="thread-1")

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["id"] != second.json()["id"]
    stored = await harness.stored()
    assert [c["externalId"] for c in stored] == ["thread-1", "thread-1"]


async def test_reject_policy_refuses_a_known_conversation_external_id(harness: Harness) -> None:
    await harness.control.put("/_sandbox/faults", json={"duplicate_conversations": "reject"})
    await harness.post_conversation(externalId="thread-1")

    again = await harness.post_conversation(externalId="thread-1")
    other = await harness.post_conversation(externalId="thread-2")

    assert again.status_code == 409
    assert "thread-1" in again.json()["error"]
    assert other.status_code == 200
    assert (await harness.stats())["conversations"] == 2


async def test_same_message_external_id_is_stored_twice_by_default(harness: Harness) -> None:
    created = (await harness.post_conversation()).json()  # holds message m-1

    status = await add(harness, created["id"], "m-1")

    assert status == 200
    [stored] = await harness.stored()
    assert [m["externalId"] for m in stored["messages"]] == ["m-1", "m-1"]


async def test_reject_policy_refuses_a_known_message_external_id(harness: Harness) -> None:
    await harness.control.put("/_sandbox/faults", json={"duplicate_messages": "reject"})
    first = (await harness.post_conversation()).json()
    second = (await harness.post_conversation()).json()

    assert await add(harness, first["id"], "m-1") == 409
    assert await add(harness, first["id"], "m-2") == 200
    # The scope is one conversation: the same externalId elsewhere is fine.
    assert await add(harness, second["id"], "m-2") == 200
    assert (await harness.stats())["messages"] == 4


async def test_reject_policy_applies_within_one_create_body(harness: Harness) -> None:
    await harness.control.put("/_sandbox/faults", json={"duplicate_messages": "reject"})

    response = await harness.post_conversation(messages=[message("m-1"), message("m-1")])

    assert response.status_code == 409
    assert (await harness.stats())["conversations"] == 0


async def test_policy_can_differ_per_org(harness: Harness) -> None:
    await harness.control.put(
        "/_sandbox/orgs/acme/faults", json={"duplicate_conversations": "reject"}
    )
    await harness.post_conversation(externalId="thread-1")

    assert (await harness.post_conversation(externalId="thread-1")).status_code == 409
    faults = (await harness.control.get("/_sandbox/faults")).json()
    assert faults["global"]["duplicate_conversations"] == "create"
    assert faults["orgs"] == {"acme": {"duplicate_conversations": "reject"}}
