"""The offset Faust commits for a source partition is what the agent handled, in order.

Two real Faust consumers side by side, Faust's own and ours (from the same kind of app, only
the transport differs), fed the same records through Faust's bookkeeping: ``track_message``
as the conductor does on delivery, ``ack`` as a stream does, ``_add_gap`` as the fetch loop
does for offsets it never got. What each would commit is read from Faust's commit path
(``commit`` -> ``_filter_committable_offsets`` -> ``_new_offset`` and ``_should_commit`` ->
``_commit``); only ``_commit`` and ``assignment``, the calls into the Kafka client, are
stand-ins. No broker is needed: the bookkeeping is in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

import faust
import pytest
from faust.transport.conductor import Conductor
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, ConsumerMessage, Message

from streams.seam.commits import CommittingConsumer, CommittingTransport, HandledOffsets

EVENTS = TP("events", 0)


@dataclass
class Worker:
    """A Faust app's consumer, with the Kafka client's commit recorded instead of sent."""

    consumer: faust_aiokafka.Consumer
    committed: list[dict[TP, int]] = field(default_factory=list)

    def deliver(self, offsets: Iterable[int]) -> dict[int, Message]:
        """Records as the conductor hands them to a stream: tracked, not yet acked."""
        delivered: dict[int, Message] = {}
        for offset in offsets:
            message = ConsumerMessage(
                EVENTS.topic, EVENTS.partition, offset, 0.0, 0, None, b"k", b"v", None
            )
            self.consumer.track_message(message)
            delivered[offset] = message
        return delivered

    def ack(self, messages: dict[int, Message], offsets: Iterable[int]) -> None:
        for offset in offsets:
            assert self.consumer.ack(messages[offset])

    async def commit(self) -> int | None:
        """Faust's commit: what it asks the Kafka client to commit for EVENTS, if anything."""
        before = len(self.committed)
        await self.consumer.commit()
        if len(self.committed) == before:
            return None
        return self.committed[-1][EVENTS]


async def worker(monkeypatch: pytest.MonkeyPatch, handled: HandledOffsets | None) -> Worker:
    """Faust's consumer, or ours (``handled`` given), as create_app sets it up."""
    app = faust.App("commit-test", broker="kafka://unused:9092", autodiscover=False)
    if handled is not None:
        app.transport = CommittingTransport(app.conf.broker_consumer, app, handled)
    app.topics.add(app.topic(EVENTS.topic))
    # What Faust's subscriber does before it subscribes: acks count for the topic.
    await cast(Conductor, app.topics)._update_indices()
    consumer = app.consumer
    assert isinstance(consumer, faust_aiokafka.Consumer)
    assert isinstance(consumer, CommittingConsumer) == (handled is not None)
    made = Worker(consumer)

    async def commit(offsets: dict[TP, int]) -> bool:
        made.committed.append(dict(offsets))
        return True

    monkeypatch.setattr(consumer, "_commit", commit)
    monkeypatch.setattr(consumer, "assignment", lambda: {EVENTS})
    return made


async def test_an_in_flight_record_at_the_committed_offset_is_not_committed_past(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """faust-streaming#606: the record at the committed offset is still being handled while
    the ones after it are acked (lanes finish out of order)."""
    handled = HandledOffsets()
    faust_alone, ours = await worker(monkeypatch, None), await worker(monkeypatch, handled)
    for w in (faust_alone, ours):
        w.consumer._committed_offset[EVENTS] = 2585  # where the seek after assignment put it
        w.ack(w.deliver(range(2585, 2590)), range(2586, 2590))
    assert await faust_alone.commit() == 2590  # record 2585 is lost on a restart
    assert await ours.commit() is None
    for offset in range(2585, 2590):  # the agent finishes them, in order
        handled.finished(EVENTS, offset)
    assert await ours.commit() == 2590
    assert ours.consumer._committed_offset[EVENTS] == 2590


async def test_a_new_group_commits_nothing_past_in_flight_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No committed offset yet (a new group, or right after a revoke): Faust has no guard."""
    handled = HandledOffsets()
    faust_alone, ours = await worker(monkeypatch, None), await worker(monkeypatch, handled)
    for w in (faust_alone, ours):
        w.ack(w.deliver(range(7)), [5, 6])
    assert await faust_alone.commit() == 7  # records 0-4 are lost on a restart
    assert await ours.commit() is None
    handled.finished(EVENTS, 0)
    handled.finished(EVENTS, 1)
    assert await ours.commit() == 2


async def test_a_gap_that_covers_an_in_flight_record_is_not_committed_past(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fetch loop records the offsets it skipped over as a gap, one past too many: the
    record it is delivering is in it."""
    handled = HandledOffsets()
    faust_alone, ours = await worker(monkeypatch, None), await worker(monkeypatch, handled)
    for w in (faust_alone, ours):
        w.consumer._committed_offset[EVENTS] = 101
        delivered = w.deliver([101, 105, 106])
        await w.consumer._add_gap(EVENTS, 102, 105)  # 102-104: transaction markers
        w.ack(delivered, [101, 106])
    assert await faust_alone.commit() == 107  # record 105 is lost on a restart
    handled.finished(EVENTS, 101)
    assert await ours.commit() == 102
    handled.finished(EVENTS, 105)  # continuity stepped over the markers
    handled.finished(EVENTS, 106)
    assert await ours.commit() == 107
    assert not ours.consumer._gap[EVENTS]  # Faust's bookkeeping below it is trimmed
    assert not ours.consumer._acked[EVENTS]


async def test_records_faust_skipped_and_acked_are_not_committed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At start-up and around rebalances Faust's stream skips records and acks them itself,
    counting on the seek to fetch them again."""
    handled = HandledOffsets()
    faust_alone, ours = await worker(monkeypatch, None), await worker(monkeypatch, handled)
    for w in (faust_alone, ours):
        w.consumer._committed_offset[EVENTS] = 80
        w.ack(w.deliver(range(80, 332)), range(80, 332))
    assert await faust_alone.commit() == 332
    assert await ours.commit() is None
    handled.finished(EVENTS, 80)
    assert await ours.commit() == 81


async def test_faust_bookkeeping_below_what_was_handled_is_trimmed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handled = HandledOffsets()
    ours = await worker(monkeypatch, handled)
    ours.ack(ours.deliver(range(10)), range(10))
    handled.finished(EVENTS, 4)
    assert await ours.commit() == 5
    assert list(ours.consumer._acked[EVENTS]) == [5, 6, 7, 8, 9]
    assert ours.consumer._acked_index[EVENTS] == {5, 6, 7, 8, 9}


async def test_nothing_is_committed_below_what_the_group_already_committed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handled = HandledOffsets()
    ours = await worker(monkeypatch, handled)
    ours.consumer._committed_offset[EVENTS] = 100
    handled.finished(EVENTS, 41)  # a redelivery finished late
    ours.ack(ours.deliver([100]), [100])
    assert await ours.commit() is None


async def test_reading_again_seeks_and_forgets_the_read_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The seek itself, on the broker: tests/e2e/test_seam_on_broker.py."""
    ours = await worker(monkeypatch, HandledOffsets())
    consumer = ours.consumer
    assert isinstance(consumer, CommittingConsumer)
    sought: list[dict[TP, int]] = []

    async def seek_wait(partitions: dict[TP, int]) -> None:
        sought.append(partitions)

    monkeypatch.setattr(consumer, "seek_wait", seek_wait)
    consumer._read_offset[EVENTS] = 57  # the fetch loop drops records below this
    await consumer.reread(EVENTS, 50)
    assert sought == [{EVENTS: 50}]
    assert EVENTS not in consumer._read_offset


def test_handled_offsets_only_move_forward_and_a_new_assignment_forgets_them() -> None:
    handled = HandledOffsets()
    handled.finished(EVENTS, 9)
    handled.finished(EVENTS, 3)  # a redelivered record
    assert handled.next_offset(EVENTS) == 10
    handled.forget()
    assert handled.next_offset(EVENTS) is None
