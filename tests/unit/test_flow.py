"""stop_fetching/resume_fetching on Faust's own consumer and its own fetch loop.

Faust's ``Consumer.getmany`` (which its fetcher calls for every batch) asks the Kafka client
for records of the active partitions and then delivers the batch one record at a time,
checking each against the live set of active partitions. The Kafka client under it
(``_getmany``, ``highwater``) is a stand-in that hands out the batches a
test queues and records which partitions each fetch asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import faust
import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams.seam.flow import PartitionWindow, resume_fetching, stop_fetching

A, B = TP("events", 0), TP("events", 1)


class Client:
    """The Kafka client under Faust's consumer."""

    def __init__(self, consumer: faust_aiokafka.Consumer, monkeypatch: pytest.MonkeyPatch) -> None:
        self.consumer = consumer
        self.asked: list[set[TP]] = []
        self.batches: list[dict[TP, list[Any]]] = []
        monkeypatch.setattr(consumer, "_getmany", self._getmany)
        monkeypatch.setattr(consumer, "highwater", lambda tp: 1000)
        consumer._set_active_tps({A, B})  # as Faust does when the partitions are assigned

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> dict[TP, Any]:
        assert active_partitions is not None
        self.asked.append(set(active_partitions))
        return self.batches.pop(0) if self.batches else {}

    async def fetch(
        self, batch: dict[TP, Iterable[int]], *, while_delivering: Any = None
    ) -> list[tuple[int, int]]:
        """One pass of Faust's fetch loop over ``batch``; (partition, offset) delivered.
        ``while_delivering(tp, offset)`` runs after each record is delivered."""
        self.batches.append({tp: [record(tp, o) for o in offsets] for tp, offsets in batch.items()})
        delivered = []
        async for tp, message in self.consumer.getmany(timeout=1.0):
            delivered.append((tp.partition, message.offset))
            if while_delivering is not None:
                while_delivering(tp, message.offset)
        return delivered


def record(tp: TP, offset: int) -> Any:
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, b"k", b"v", None, 1, 1, [])


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch) -> Client:
    app = faust.App("flow-test", broker="kafka://unused:9092", autodiscover=False)
    consumer = app.consumer
    assert isinstance(consumer, faust_aiokafka.Consumer)
    return Client(consumer, monkeypatch)


async def test_stopped_fetching_delivers_the_rest_of_the_batch_and_fetches_no_more(
    client: Client,
) -> None:
    def stop_a_mid_batch(tp: TP, offset: int) -> None:
        if (tp, offset) == (A, 0):
            stop_fetching(client.consumer, [A])

    delivered = await client.fetch({A: range(3), B: range(3)}, while_delivering=stop_a_mid_batch)
    assert sorted(delivered) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert await client.fetch({B: [3]}) == [(1, 3)]
    assert client.asked == [{A, B}, {B}]  # the next fetch leaves A out
    resume_fetching(client.consumer, [A])
    assert await client.fetch({A: [3], B: [4]}) == [(0, 3), (1, 4)]
    assert client.asked[-1] == {A, B}


async def test_faust_pause_partitions_would_drop_the_rest_of_the_batch(client: Client) -> None:
    """Why stop_fetching does not use Consumer.pause_partitions: Faust's fetch loop skips the
    paused partition's records it already fetched, without a trace."""

    def pause_a_mid_batch(tp: TP, offset: int) -> None:
        if (tp, offset) == (A, 0):
            client.consumer.pause_partitions([A])

    delivered = await client.fetch({A: range(3), B: range(3)}, while_delivering=pause_a_mid_batch)
    assert sorted(delivered) == [(0, 0), (1, 0), (1, 1), (1, 2)]  # A's 1 and 2 are gone


async def test_the_window_pauses_and_resumes_faust_fetching_for_records_aiokafka_tps(
    client: Client,
) -> None:
    consumer = client.consumer
    tp = TopicPartition(A.topic, A.partition)  # what records carry
    in_flight = {tp: 2}
    window = PartitionWindow(
        2,
        in_flight=lambda t: in_flight[t],
        pause=lambda tps: stop_fetching(consumer, tps),
        resume=lambda tps: resume_fetching(consumer, tps),
        may_resume=lambda: True,
    )
    await client.fetch({})
    window.admitted(tp)
    await client.fetch({})
    in_flight[tp] = 1
    window.finished(tp)
    await client.fetch({})  # Faust's fetch loop asserts its active partitions are all TPs
    assert client.asked == [{A, B}, {B}, {A, B}]
    assert all(type(t) is TP for t in client.asked[-1])
