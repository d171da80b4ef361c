"""Pruning finished conversations: which entries may go and when (never while the input
topic can still hold one of their records), and the table's side of it (stamps, scan,
tombstone) on a real Faust table."""

from __future__ import annotations

from typing import Any

import faust
import pytest

from schemas.state import ConversationState
from streams.ports import TableStates
from streams.pruning import DAY_MS, PRUNE, PRUNE_HEADER, PrunePolicy, forget_if_due, is_prune
from streams.seam.changelog import ChangelogTable
from streams.topics import _retention
from tests.fakes import FakeTime, InMemoryStates

NOW = 100 * DAY_MS
WEEK = 7 * DAY_MS


def _state(**fields: Any) -> ConversationState:
    values: dict[str, Any] = {"tenant_id": "T1", "conversation_id": "c1", "status": "synced",
                              "vitally_conversation_id": "v1", "touched_at": NOW - 40 * DAY_MS,
                              "partition": 2, **fields}  # fmt: skip
    return ConversationState(**values)


CLOSED = {"traits": {"unthreadStatus": "closed"}}


def test_the_setting_never_goes_below_what_the_input_topic_can_still_hold() -> None:
    assert PrunePolicy.of(after_days=30, retention_ms=WEEK, segment_ms=WEEK).after_ms == 30 * DAY_MS
    # A retention longer than the setting wins, plus a segment that may stay open that long.
    long = PrunePolicy.of(after_days=1, retention_ms=60 * DAY_MS, segment_ms=WEEK)
    assert long.after_ms == 67 * DAY_MS
    assert PrunePolicy.of(after_days=30, retention_ms=None, segment_ms=WEEK).after_ms is None
    assert PrunePolicy.of(after_days=0, retention_ms=WEEK, segment_ms=WEEK).after_ms is None


@pytest.mark.parametrize(
    ("fields", "due"),
    [
        (CLOSED, True),
        ({"status": "deleted"}, True),
        ({"vitally_deleted": True}, True),
        ({}, False),  # open: its next event needs the Vitally ids
        ({**CLOSED, "touched_at": NOW - 10 * DAY_MS}, False),  # touched within the window
        ({**CLOSED, "touched_at": None}, False),  # written before stamps were kept
    ],
)
def test_only_finished_conversations_untouched_long_enough_are_due(
    fields: dict[str, Any], due: bool
) -> None:
    policy = PrunePolicy(30 * DAY_MS)
    assert policy.due(_state(**fields), NOW) is due
    assert not PrunePolicy(None).due(_state(**fields), NOW)


def test_a_prune_record_deletes_only_what_is_still_due_when_it_is_handled() -> None:
    states = InMemoryStates()
    policy = PrunePolicy(30 * DAY_MS)
    states.put("T1/c1", _state(**CLOSED))
    states.put("T1/c2", _state(**CLOSED, touched_at=NOW - DAY_MS))  # an event since the scan
    assert forget_if_due(states, "T1/c1", policy, NOW) is not None
    assert forget_if_due(states, "T1/c2", policy, NOW) is None
    assert forget_if_due(states, "T1/gone", policy, NOW) is None
    assert set(states.data) == {"T1/c2"}
    assert is_prune([("traceparent", b"x"), (PRUNE_HEADER, PRUNE)])
    assert not is_prune([(PRUNE_HEADER, b"wake")])


async def test_the_table_stamps_scans_and_deletes() -> None:
    app = faust.App("prune-test", broker="kafka://unused:9092", store="memory://",
                    Table=ChangelogTable, autodiscover=False)  # fmt: skip
    table = app.Table("conversations", default=None, key_type=bytes, value_type=bytes)
    clock = FakeTime(NOW / 1000)
    states = TableStates(table, clock)
    # Written as the handler's writes are (stamped), straight into the store: outside stream
    # iteration Faust would refuse the changelog write.
    for key, state in {
        "T1/old": _state(**CLOSED),
        "T1/open": _state(),
        "T1/recent": _state(**CLOSED, touched_at=NOW - DAY_MS),
        "T1/elsewhere": _state(**CLOSED, partition=5),
    }.items():
        table.data[key.encode()] = state.to_json()
    found = [due async for due in states.prunable(PrunePolicy(30 * DAY_MS), {2, 3})]
    assert found == [("T1/old", 2)]
    with pytest.raises(TypeError, match="outside of stream iteration"):
        states.delete("T1/old")  # a delete is a table write too: only in the agent's lane
    with pytest.raises(TypeError, match="outside of stream iteration"):
        states.put("T1/old", _state())


def test_every_write_is_stamped_with_its_time_and_partition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Handled:  # the record being handled, as faust.current_event() gives it
        class message:  # noqa: N801 - Faust's attribute name
            partition = 6

    monkeypatch.setattr(faust, "current_event", lambda: Handled)
    table: dict[bytes, bytes] = {}
    TableStates(table, FakeTime(NOW / 1000)).put("T1/c1", _state(touched_at=None, partition=None))
    stored = ConversationState.from_json(table[b"T1/c1"])
    assert (stored.touched_at, stored.partition) == (NOW, 6)


class _Entry:
    def __init__(self, value: str) -> None:
        self.value = value


class _Admin:
    """Answers describe_configs for one topic, as confluent-kafka's AdminClient does."""

    def __init__(self, configs: dict[str, str]) -> None:
        self.configs = configs

    def describe_configs(self, resources: list[Any], request_timeout: float) -> dict[Any, Any]:
        entries = {name: _Entry(value) for name, value in self.configs.items()}

        class Done:
            def result(self, timeout: float) -> dict[str, _Entry]:
                return entries

        return {resources[0]: Done()}


@pytest.mark.parametrize(
    ("configs", "expected"),
    [
        ({"retention.ms": "604800000", "segment.ms": "86400000", "cleanup.policy": "delete"},
         (604800000, 86400000)),
        ({"retention.ms": "-1", "segment.ms": "86400000", "cleanup.policy": "delete"},
         (None, None)),
        ({"retention.ms": "604800000", "segment.ms": "1", "cleanup.policy": "compact"},
         (None, None)),  # compaction alone keeps each key's last record forever
        ({"retention.ms": "604800000", "segment.ms": "1", "cleanup.policy": "compact,delete"},
         (604800000, 1)),
    ],
)  # fmt: skip
def test_how_long_the_input_topic_holds_a_record(
    configs: dict[str, str], expected: tuple[int | None, int | None]
) -> None:
    assert _retention(_Admin(configs), "in") == expected  # type: ignore[arg-type]
