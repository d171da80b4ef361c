"""Waiting events, one per entry of the waiting table: a long thread waits in linear bytes,
a redelivery is recognised, old inline states move, a tenant needing attention costs nothing,
and what arrives before its create waits for it."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry

from schemas.state import (
    MAX_ASIDE,
    RECENT_MESSAGE_IDS,
    UNAPPLIED_OFFSETS,
    ConversationState,
    ParkedEvent,
    WaitingQueue,
)
from streams.metrics import Metrics
from streams.ports import TableEntries, TableStates
from streams.waiting import WaitingEvents
from tests.fakes import FakeTime
from tests.unit.sync_world import CONV, TENANT, created, deleted, posted, updated
from tests.unit.test_handler import CREATE, INPUT, KEY, Harness, outcome
from vitally.errors import VitallyAuthError, VitallyServerError

DAY_MS = 24 * 3600 * 1000


def outage(h: Harness) -> None:
    h.vitally.fail_next(
        "create_conversation", VitallyServerError(503, method="POST", path=CREATE), times=1
    )


def bytes_written(h: Harness) -> int:
    states = sum(len(key) + len(state.to_json()) for key, state in h.states.writes)
    return states + h.entries.bytes_written


async def thread_through_an_outage(replies: int) -> Harness:
    h = Harness(max_attempts=1)
    outage(h)
    assert outcome(await h.feed(created())) == ("parked", "vitally_unavailable")
    for n in range(replies):
        reply = await h.feed(posted(f"reply {n} " + "x" * 400, message_id=f"m_{n}"))
        assert outcome(reply) == ("parked", "waiting_for_earlier_event")
    return h


async def test_a_long_thread_waits_in_linear_bytes_then_syncs_in_order_without_the_dlq() -> None:
    short, long = await thread_through_an_outage(100), await thread_through_an_outage(400)
    # Four times the replies, about four times the bytes (the old layout wrote ~16 times).
    assert bytes_written(long) < 4.4 * bytes_written(short)
    assert max(len(s.to_json()) for _, s in long.states.writes) < 2_000
    resolved = await long.resume()
    assert [outcome(a) for a in resolved] == [("synced", None)] * 401
    [conversation] = long.vitally.conversations(TENANT)
    assert len(conversation.messages) == 401
    assert [a.message_id for a in resolved[1:]] == [f"m_{n}" for n in range(400)]
    assert long.outputs.dead_letters == [] and long.parked == ()
    assert not any(k.startswith(KEY + "#") or "@" in k for k in long.entries.data)


async def test_a_redelivered_waiting_record_is_already_parked_and_not_queued_twice() -> None:
    h = await thread_through_an_outage(2)
    again = await h.feed(h.raw_at(posted(message_id="m_0"), h.offset - 1))
    assert outcome(again) == ("duplicate", "already_parked")
    assert len(h.parked) == 3
    resolved = await h.resume()
    assert [a.message_id for a in resolved] == [None, "m_0", "m_1"]


async def test_a_state_written_with_inline_parked_events_moves_them_and_resumes_in_order() -> None:
    h = Harness()
    source = h.source(created())
    follow = h.source(posted(message_id="m_2"))

    def inline(record_offset: int, value: bytes, reason: str) -> dict[str, object]:
        event = ParkedEvent(
            topic=INPUT, partition=3, offset=record_offset, key=CONV, value=value.decode(),
            reason=reason, first_parked_at=0, next_attempt_at=0,
        )  # fmt: skip
        return event.model_dump(by_alias=True)

    old = ConversationState.placeholder(TENANT, CONV).model_dump(by_alias=True)
    del old["queue"]
    assert source.value is not None and follow.value is not None
    old.update(
        parked=[
            inline(source.offset, source.value, "vitally_unavailable"),
            inline(follow.offset, follow.value, "waiting_for_earlier_event"),
        ],
        aside=[],
    )
    h.states.put(KEY, ConversationState.from_json(json.dumps(old).encode()))
    resolved = await h.resume()
    assert [outcome(a) for a in resolved] == [("synced", None), ("synced", None)]
    assert [a.message_id for a in resolved] == [None, "m_2"]
    assert h.state is not None and h.state.synced and h.parked == ()


async def test_a_tenant_needing_attention_sends_no_retry_records_then_ends_replayable() -> None:
    h = Harness(max_attempts=1)
    await h.feed(created())
    h.vitally.fail_next(
        "add_message", VitallyAuthError(401, method="POST", path="/resources/messages")
    )
    parked = await h.feed(posted(message_id="m_2"))
    assert outcome(parked) == ("parked", "integration_needs_attention")
    now = int(h.clock.seconds * 1000)
    index = h.handler._index
    # Nothing is due for the fortnight: no retry record every 30 s.
    assert index.due(now + DAY_MS, {3}) == [] and index.due(now + 13 * DAY_MS, {3}) == []
    assert await h.resume() == []

    h.clock.seconds += 14 * 24 * 3600
    assert index.due(int(h.clock.seconds * 1000), {3}) == [(KEY, 3)]
    [ended] = await h.resume()
    assert outcome(ended) == ("skipped", "needs_attention_expired")
    assert h.state is not None and not h.state.applied(parked.source.offset)
    metrics = Metrics(CollectorRegistry())
    metrics.audited(ended)
    assert metrics.registry.get_sample_value("vitally_sync_needs_attention_expired_total") == 1


async def test_a_reconnected_tenant_is_due_at_once() -> None:
    h = Harness(max_attempts=1)
    await h.feed(created())
    h.vitally.fail_next(
        "add_message", VitallyAuthError(401, method="POST", path="/resources/messages")
    )
    await h.feed(posted(message_id="m_2"))
    h.tenants.reconnect(TENANT)
    h.handler._index.wake_tenant(TENANT)
    assert h.handler._index.due(int(h.clock.seconds * 1000), {3}) == [(KEY, 3)]
    [synced] = await h.resume()
    assert outcome(synced) == ("synced", None) and synced.message_id == "m_2"


async def test_follow_ups_before_their_create_wait_for_it_then_apply_in_order() -> None:
    h = Harness()
    early = [
        await h.feed(posted(message_id="m_2")),
        await h.feed(updated(assignee="sam@vendor.example", status="closed")),
        await h.feed(posted(message_id="m_3")),
    ]
    assert [outcome(a) for a in early] == [
        ("parked", "waiting_for_create"),
        ("parked", "waiting_for_earlier_event"),
        ("parked", "waiting_for_earlier_event"),
    ]
    create = await h.feed(created())
    assert outcome(create) == ("synced", None)
    resolved = await h.resume()
    assert [outcome(a) for a in resolved] == [("synced", None)] * 3
    assert [a.message_id for a in resolved] == ["m_2", None, "m_3"]
    # A replay answers duplicate for what was applied, and only that.
    for audit in (*early, create):
        replayed = await h.feed(h.raw_at(posted(message_id="m_x"), audit.source.offset))
        assert replayed.outcome == "duplicate"


async def test_a_create_that_parks_goes_before_the_follow_ups_waiting_for_it() -> None:
    h = Harness(max_attempts=1)
    await h.feed(posted(message_id="m_2"))
    outage(h)
    assert outcome(await h.feed(created())) == ("parked", "vitally_unavailable")
    resolved = await h.resume()
    assert [a.message_id for a in resolved] == [None, "m_2"]
    assert [outcome(a) for a in resolved] == [("synced", None)] * 2


async def test_a_follow_up_whose_create_never_comes_ends_after_the_window_replayable() -> None:
    h = Harness()
    early = await h.feed(deleted())
    assert outcome(early) == ("parked", "waiting_for_create")
    assert await h.resume() == []  # not due: nothing arrived
    h.clock.seconds += 3600
    [ended] = await h.resume()
    assert outcome(ended) == ("skipped", "conversation_not_synced")
    await h.feed(created())
    replayed = await h.feed(h.raw_at(deleted(), early.source.offset))
    assert replayed.outcome != "duplicate"


async def test_a_recheck_of_a_tenant_still_needing_attention_sends_one_retry_record_only() -> None:
    h = Harness(max_attempts=1)
    await h.feed(created())
    h.vitally.fail_next(
        "add_message", VitallyAuthError(401, method="POST", path="/resources/messages")
    )
    await h.feed(posted(message_id="m_2"))
    index, now = h.handler._index, int(h.clock.seconds * 1000)
    index.wake_tenant(TENANT)  # an operator's re-check
    assert index.due(now, {3}) == [(KEY, 3)]
    assert await h.resume() == []  # still needs attention: nothing to try
    assert index.due(now + 60_000, {3}) == []  # back to its own time, not every 30 s


def test_the_rebalance_scan_finds_waiting_conversations_new_and_old() -> None:
    table: dict[bytes, bytes] = {}
    waiting_table: dict[bytes, bytes] = {}
    entries = TableEntries(waiting_table)
    states, waiting = TableStates(table, FakeTime()), WaitingEvents(entries)
    event = ParkedEvent(
        topic=INPUT, partition=3, offset=7, key=CONV, value="{}",
        reason="vitally_unavailable", first_parked_at=0, next_attempt_at=5,
    )  # fmt: skip
    idle = ConversationState.placeholder(TENANT, "idle")
    busy = waiting.enqueue("T/busy", ConversationState.placeholder(TENANT, "busy"), event, None)
    old = ConversationState.placeholder(TENANT, "old").model_dump(by_alias=True)
    del old["queue"]
    old.update(parked=[event.model_dump(by_alias=True)], aside=[])
    states.put("T/idle", idle)
    states.put("T/busy", busy)
    table[b"T/old"] = json.dumps(old).encode()
    found = {key: (tenant, events) for key, tenant, events in states.waiting({3}, waiting)}
    assert found == {"T/busy": (TENANT, [event]), "T/old": (TENANT, [event])}
    assert states.waiting({1}, waiting) == []
    entries.delete("T/busy#q0")
    assert (
        b"T/busy#q0" not in waiting_table and b"T/busy@" + INPUT.encode() + b"/3/7" in waiting_table
    )


def test_no_table_value_of_a_queue_reaches_the_producer_limit() -> None:
    producer_limit = 1_000_000
    # The largest record MAX_EVENT_BYTES lets in, all characters JSON must escape.
    worst = '"' * 256_000
    event = ParkedEvent(
        topic=INPUT, partition=3, offset=2**62, key="k" * 255, value=worst,
        reason="vitally_unavailable", first_parked_at=0, next_attempt_at=0,
    )  # fmt: skip
    assert len(event.model_dump_json(by_alias=True)) < producer_limit
    # The conversation's entry at every bound: aside full, ids and offsets remembered.
    queue = WaitingQueue(head=-(2**40), tail=2**40, aside=tuple(range(2**40, 2**40 + MAX_ASIDE)))
    full = ConversationState.placeholder(TENANT, CONV).with_queue(queue)
    for n in range(RECENT_MESSAGE_IDS):
        full = full.with_message(f"m-{n:040d}", n)
    for n in range(UNAPPLIED_OFFSETS):
        full = full.passed_over(2**62 + n)
    assert len(full.to_json()) < producer_limit / 4


async def test_a_record_too_large_to_wait_goes_to_the_dlq_and_the_thread_flows_on() -> None:
    """At the largest MAX_EVENT_BYTES a record whose text is all quotes parses, but its
    waiting entry (the record as a JSON string) would pass the producer's limit: it fails to
    the DLQ instead of stopping the worker on a refused changelog write."""
    h = Harness(max_attempts=1, max_event_bytes=996_416)
    assert outcome(await h.feed(created())) == ("synced", None)
    h.vitally.fail_next("add_message", VitallyServerError(503, method="POST", path=CREATE))
    huge = await h.feed(posted('"' * 480_000, message_id="m_huge"))
    assert outcome(huge) == ("failed", "parked_overflow")
    assert [d.reason for d in h.outputs.dead_letters] == ["parked_overflow"]
    assert h.entries.data == {}
    assert outcome(await h.feed(posted("after it", message_id="m_3"))) == ("synced", None)
