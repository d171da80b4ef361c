"""The offset Faust commits for a source partition is what the agent handled, in order.

Run against Faust's real commit path (``_filter_committable_offsets``, which calls our
``_new_offset`` and Faust's ``_should_commit``); no broker is needed to compute offsets.
"""

from __future__ import annotations

from collections.abc import Iterator

import faust
import pytest
from faust.types import TP

from streams.seam.commits import CommittingConsumer, CommittingTransport, HandledOffsets

EVENTS = TP("events", 0)


@pytest.fixture
def gated() -> Iterator[tuple[CommittingConsumer, HandledOffsets]]:
    app = faust.App("gate-test", broker="kafka://unused:9092", autodiscover=False)
    handled = HandledOffsets()
    app.transport = CommittingTransport(app.conf.broker_consumer, app, handled)
    app.topic(EVENTS.topic)
    consumer = app.consumer
    assert isinstance(consumer, CommittingConsumer)
    yield consumer, handled


def faust_acked(consumer: CommittingConsumer, offsets: range) -> None:
    """What Faust's stream does with records it skips: acks them itself."""
    for offset in offsets:
        consumer._acked[EVENTS].append(offset)
        consumer._acked_index[EVENTS].add(offset)


def test_records_faust_skipped_and_acked_are_not_committed(
    gated: tuple[CommittingConsumer, HandledOffsets],
) -> None:
    consumer, handled = gated
    consumer._committed_offset[EVENTS] = 80
    faust_acked(consumer, range(80, 332))  # skipped at start-up, fetched again later
    assert consumer._filter_committable_offsets([EVENTS]) == {}  # plain Faust: 332
    handled.finished(EVENTS, 80)
    assert consumer._filter_committable_offsets([EVENTS]) == {EVENTS: 81}


def test_faust_bookkeeping_below_what_was_handled_is_trimmed(
    gated: tuple[CommittingConsumer, HandledOffsets],
) -> None:
    consumer, handled = gated
    faust_acked(consumer, range(10))
    handled.finished(EVENTS, 4)
    assert consumer._filter_committable_offsets([EVENTS]) == {EVENTS: 5}
    assert list(consumer._acked[EVENTS]) == [5, 6, 7, 8, 9]
    assert consumer._acked_index[EVENTS] == {5, 6, 7, 8, 9}


def test_nothing_is_committed_below_what_the_group_already_committed(
    gated: tuple[CommittingConsumer, HandledOffsets],
) -> None:
    consumer, handled = gated
    consumer._committed_offset[EVENTS] = 100
    handled.finished(EVENTS, 41)  # a redelivery finished late
    assert consumer._filter_committable_offsets([EVENTS]) == {}


def test_handled_offsets_only_move_forward_and_a_new_assignment_forgets_them() -> None:
    handled = HandledOffsets()
    handled.finished(EVENTS, 9)
    handled.finished(EVENTS, 3)  # a redelivered record
    assert handled.next_offset(EVENTS) == 10
    handled.forget()
    assert handled.next_offset(EVENTS) is None
