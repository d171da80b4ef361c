"""ChangelogTable: a record's table changes can be awaited until they are in Kafka.

Driven through Faust's own write path: ``table[key] = value`` inside stream iteration (an
agent's ``test_context()``) runs Faust's ``Table.on_key_set``, which calls our
``send_changelog`` with the partition of the current event; Faust's changelog topic puts the
change in the producer's buffer, whose task publishes it with ``Topic.publish_message``. Only
the Kafka client under Faust's producer (its ``send``) is a stand-in,
:class:`tests.kafka_client.Broker`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import faust
import pytest
from faust.types import EventT, FutureMessage, StreamT

from streams.seam.changelog import ChangelogTable
from tests.kafka_client import Broker

SOURCE_PARTITION = 3


Work = Callable[[EventT[bytes]], Coroutine[Any, Any, list[FutureMessage]]]


@dataclass
class World:
    app: faust.App
    table: ChangelogTable
    broker: Broker
    # What each record handed to the agent does, in a task of its own (as the agent's lanes).
    work: Work | None = None
    records: asyncio.Queue[asyncio.Task[list[FutureMessage]]] = field(default_factory=asyncio.Queue)
    put: Callable[..., Awaitable[EventT[bytes]]] | None = None

    async def record(self, key: bytes, value: bytes) -> list[FutureMessage]:
        """Hand a record to the agent; the changelog writes its work collected."""
        assert self.put is not None
        await self.put(value, key=key, partition=SOURCE_PARTITION, wait=False)
        async with asyncio.timeout(2):
            task = await self.records.get()
            return await task


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    app = faust.App(
        "changelog-table-test",
        broker="kafka://unused:9092",
        store="memory://",
        Table=ChangelogTable,
        autodiscover=False,
    )
    table = app.Table("conversations", key_type=bytes, value_type=bytes, partitions=8)
    assert isinstance(table, ChangelogTable)
    world = World(app, table, Broker(app, monkeypatch))
    source = app.topic("events", key_serializer="raw", value_serializer="raw")

    @app.agent(source)
    async def agent(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            assert world.work is not None
            # Created inside stream iteration: the task carries Faust's current event.
            world.records.put_nowait(asyncio.create_task(world.work(event)))

    app.finalize()
    buffer = app.producer.buffer
    await buffer.start()  # the task that publishes what table writes put in the buffer
    try:
        async with agent.test_context() as tested:
            world.put = tested.put
            yield world
    finally:
        await buffer.stop()


async def write_twice(table: ChangelogTable, event: EventT[bytes]) -> list[FutureMessage]:
    writes = table.collect()
    assert isinstance(event.key, bytes) and isinstance(event.value, bytes)
    table[event.key] = event.value
    table[event.key] = event.value + b"+"
    return writes


async def test_faust_table_writes_are_collected_as_faust_sent_them(world: World) -> None:
    table = world.table

    async def work(event: EventT[bytes]) -> list[FutureMessage]:
        writes = table.collect()
        table[b"a"] = b"1"
        del table[b"a"]
        table[b"a"] = b"2"
        return writes

    world.work = work
    writes = await world.record(b"a", b"")
    assert [(w.message.key, w.message.value) for w in writes] == [
        (b"a", b"1"),
        (b"a", None),
        (b"a", b"2"),
    ]
    for write in writes:
        # Faust's own: the changelog topic, the source event's partition, callback and all.
        assert write.message.channel is table.changelog_topic
        assert write.message.partition == SOURCE_PARTITION
        assert not write.done()
    sent = await world.broker.published(3)
    assert [(s.topic, s.key, s.value, s.partition) for s in sent] == [
        (table.changelog_topic_name, b"a", b"1", SOURCE_PARTITION),
        (table.changelog_topic_name, b"a", None, SOURCE_PARTITION),
        (table.changelog_topic_name, b"a", b"2", SOURCE_PARTITION),
    ]
    waiting = asyncio.ensure_future(table.written(writes))
    for offset, s in enumerate(sent):
        await asyncio.sleep(0.01)
        assert not waiting.done()
        world.broker.ack(s, offset)
    await asyncio.wait_for(waiting, 1)
    assert [w.result().offset for w in writes] == [0, 1, 2]
    assert table[b"a"] == b"2"


async def test_a_record_waits_for_its_own_writes_only(world: World) -> None:
    table = world.table
    world.work = lambda event: write_twice(table, event)
    first = await world.record(b"a", b"1")
    second = await world.record(b"b", b"1")
    assert [len(first), len(second)] == [2, 2]
    assert set(first).isdisjoint(second)
    sent = await world.broker.published(4)
    assert [s.key for s in sent] == [b"a", b"a", b"b", b"b"]
    waiting = asyncio.ensure_future(table.written(first))
    world.broker.ack(sent[0], 0)
    await asyncio.sleep(0.01)
    assert first[0].done()
    assert not waiting.done()  # its second write is still on its way
    world.broker.ack(sent[1], 1)
    await asyncio.wait_for(waiting, 1)  # the other record's writes are not waited for
    assert not any(w.done() for w in second)
    await asyncio.wait_for(table.written([]), 1)


async def test_a_failed_cancelled_or_lost_write_is_an_error_not_a_wait(world: World) -> None:
    table = world.table
    table.app.conf.broker_request_timeout = 0.05
    world.work = lambda event: write_twice(table, event)
    failed, cancelled = await world.record(b"a", b"1")
    sent = await world.broker.published(2)
    sent[0].answer.set_exception(RuntimeError("broker gone"))  # Faust passes it on
    with pytest.raises(RuntimeError, match="broker gone"):
        await table.written([failed])
    cancelled.cancel()
    with pytest.raises(RuntimeError, match="cancelled"):
        await table.written([cancelled])
    # A client answer Faust's callback cannot take (it only catches Exception): Faust never
    # settles that write, and only the timeout tells.
    lost, _ = await world.record(b"b", b"1")
    late = await world.broker.published(4)
    late[2].answer.cancel()
    with pytest.raises(RuntimeError, match="not acknowledged in time"):
        await table.written([lost])


async def test_a_changelog_missing_from_the_group_metadata_is_not_a_mismatch(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiokafka counts a topic its group metadata does not hold yet as 0 partitions (as when a
    member joins); the write goes on, and a real mismatch is still caught once both are known."""
    table = world.table
    counts = {"events": 6, table.changelog_topic_name: 0}
    monkeypatch.setattr(world.app.consumer, "topic_partitions", counts.get)
    world.work = lambda event: write_twice(table, event)
    assert len(await world.record(b"a", b"1")) == 2
    assert table[b"a"] == b"1+"

    counts[table.changelog_topic_name] = 8
    failure: list[BaseException] = []

    async def write_once(event: EventT[bytes]) -> list[FutureMessage]:
        try:
            table[b"b"] = b"1"
        except faust.exceptions.PartitionsMismatch as exc:
            failure.append(exc)
        return []

    world.work = write_once
    await world.record(b"b", b"1")
    assert len(failure) == 1 and "has 6 partitions" in str(failure[0])
    assert b"b" not in table
