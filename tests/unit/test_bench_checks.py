"""The benchmark's pure parts: a deterministic, skewed workload, and checks that catch
reordered, duplicated and lost messages (no timing here)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from bench.checks import (
    CheckResult,
    StoredConversation,
    StoredMessage,
    check_audit,
    check_stored,
    out_of_order,
    parse_stored,
    percentile,
    write_latencies_ms,
)
from bench.workload import WorkloadConfig, generate, message_counts, render

SMALL = WorkloadConfig(tenants=3, conversations=20, messages=6, seed=7)
EXPECTED = {"c1": ["m0", "m1", "m2", "m3"], "c2": ["n0", "n1"]}


def stored(conversation_id: str, *message_ids: str, at: float = 0.0) -> StoredConversation:
    return StoredConversation(
        conversation_id, tuple(StoredMessage(m, at + i) for i, m in enumerate(message_ids))
    )


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    first, again = generate(SMALL), generate(SMALL)
    other = generate(WorkloadConfig(tenants=3, conversations=20, messages=6, seed=8))

    assert first == again
    assert first.events != other.events


def test_hot_conversations_carry_half_the_messages() -> None:
    counts = message_counts(WorkloadConfig(conversations=100, messages=10))

    assert sum(counts) == 1000
    assert sum(counts[:10]) == 500  # the 10% hot ones
    assert min(counts) >= 1


def test_each_conversation_opens_then_alternates_customer_and_support() -> None:
    workload = generate(SMALL)

    for (_, conversation_id), ids in workload.conversation_messages().items():
        events = [e for e in workload.events if e.conversation_id == conversation_id]
        assert [e.message_id for e in events] == ids
        assert events[0].kind == "conversation_created"
        assert all(e.kind == "message_created" for e in events[1:])
        assert [e.support for e in events] == [i % 2 == 1 for i in range(len(events))]
    assert len(workload.events) == SMALL.events
    assert Counter(e.tenant_id for e in workload.events).keys() == {
        t.tenant_id for t in workload.tenants
    }


def test_rendered_records_are_contract_events_stamped_at_produce_time() -> None:
    workload = generate(SMALL)
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    opening = next(e for e in workload.events if e.kind == "conversation_created")
    reply = next(e for e in workload.events if e.kind == "message_created" and e.support)

    created = json.loads(render(opening, at).value)
    replied = json.loads(render(reply, at).value)

    assert render(opening, at).key == opening.conversation_id.encode()
    assert created["eventTimestamp"] == int(at.timestamp() * 1000)
    assert created["data"]["initialMessage"]["id"] == opening.message_id
    assert created["data"]["submitterUser"]["email"] == opening.customer
    assert (replied["data"]["id"], replied["data"]["isExternal"]) == (reply.message_id, False)


def test_a_faithful_copy_passes_every_check() -> None:
    result = check_stored(
        EXPECTED, [stored("c1", "m0", "m1", "m2", "m3"), stored("c2", "n0", "n1")]
    )

    assert result == CheckResult(0, 0, 0)
    assert result.clean


def test_reordered_messages_are_order_violations() -> None:
    result = check_stored(
        EXPECTED, [stored("c1", "m0", "m2", "m1", "m3"), stored("c2", "n1", "n0")]
    )

    assert result == CheckResult(order_violations=2, duplicates=0, lost=0)


def test_repeated_messages_and_conversations_are_duplicates() -> None:
    result = check_stored(
        EXPECTED,
        [stored("c1", "m0", "m1", "m1", "m2", "m3"), stored("c2", "n0", "n1"), stored("c2", "n0")],
    )

    # One extra m1; one extra conversation c2, whose copy repeats n0 once more.
    assert result == CheckResult(order_violations=0, duplicates=3, lost=0)


def test_missing_messages_and_conversations_are_lost() -> None:
    result = check_stored(EXPECTED, [stored("c1", "m0", "m1", "m3")])

    assert result == CheckResult(order_violations=0, duplicates=0, lost=3)


def test_a_repeat_is_a_duplicate_not_an_order_violation() -> None:
    assert out_of_order(["a", "b", "a", "c"], {"a": 0, "b": 1, "c": 2}) == 0
    assert out_of_order(["b", "a", "c"], {"a": 0, "b": 1, "c": 2}) == 1


def test_audit_checks_on_the_passthrough_records() -> None:
    def audit(conversation: str, message: str, offset: int) -> dict[str, object]:
        source = {"topic": "in", "partition": 0, "offset": offset}
        return {"conversationId": conversation, "messageId": message, "source": source}

    audits = [
        audit("c1", "m0", 0), audit("c1", "m2", 2), audit("c1", "m1", 1), audit("c1", "m1", 1),
        audit("c2", "n0", 4),
    ]  # fmt: skip

    assert check_audit(EXPECTED, audits) == CheckResult(order_violations=1, duplicates=1, lost=2)


def test_write_latency_is_the_first_write_after_the_event() -> None:
    raw = [
        {"externalId": "c1", "messages": [
            {"externalId": "m0", "receivedAt": "2026-11-25T12:00:00.250Z"},
            {"externalId": "m0", "receivedAt": "2026-11-25T12:00:09.000Z"},
        ]},
    ]  # fmt: skip
    produced = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()

    latencies = write_latencies_ms({"m0": produced}, parse_stored(raw))

    assert [round(x) for x in latencies] == [250]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]

    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (
        50.0,
        99.0,
        100.0,
    )
    assert percentile([], 50) is None
