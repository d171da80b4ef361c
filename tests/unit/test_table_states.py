"""The conversations table's reads: a state this worker wrote is not parsed again."""

from __future__ import annotations

from schemas.state import ConversationState
from streams.ports import TableStates
from tests.fakes import FakeTime


def _state(conversation_id: str, **fields: object) -> ConversationState:
    return ConversationState.model_validate(
        {"tenantId": "T1", "conversationId": conversation_id, "status": "synced",
         "vitallyConversationId": f"v_{conversation_id}", "partition": 0, **fields}
    )  # fmt: skip


def test_a_state_read_back_is_the_one_written_without_parsing_it_again() -> None:
    table: dict[bytes, bytes] = {}
    states = TableStates(table, FakeTime())
    states.put("T1/c1", _state("c1", lastOffset=7))
    first, again = states.get("T1/c1"), states.get("T1/c1")
    assert first is again  # kept, not parsed twice
    assert first == ConversationState.from_json(table[b"T1/c1"])  # and what the table holds


def test_a_value_the_worker_did_not_write_is_parsed() -> None:
    table: dict[bytes, bytes] = {}
    states = TableStates(table, FakeTime())
    states.put("T1/c1", _state("c1", lastOffset=7))
    # Recovery from the changelog (or another owner) puts another value under the key.
    table[b"T1/c1"] = _state("c1", lastOffset=9).to_json()
    state = states.get("T1/c1")
    assert state is not None and state.last_offset == 9


def test_only_the_latest_writes_are_kept_and_a_deleted_one_is_gone() -> None:
    table: dict[bytes, bytes] = {}
    states = TableStates(table, FakeTime(), keep=2)
    for name in ("c1", "c2", "c3"):
        states.put(f"T1/{name}", _state(name))
    c1, c3 = states.get("T1/c1"), states.get("T1/c3")
    assert c1 is not None and c1 is not states.get("T1/c1")  # dropped: parsed at each read
    assert c3 is states.get("T1/c3")
    states.delete("T1/c3")
    assert states.get("T1/c3") is None and b"T1/c3" not in table
