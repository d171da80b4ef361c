"""streams/seam on the broker, with a Faust worker in this process: what reaches the
committed offsets, reading a partition again, and awaiting a record's changelog writes.

The agent reads without auto-ack, as ours does, and the test acks from outside it, as the
lanes do; each commit is Faust's own (``Consumer.commit``). The group is new, so Faust has no
committed offset to guard with: once records after one still in flight are acked, Faust's
consumer commits past it. Ours commits what the agent handled (tests/unit/test_consumer.py
has the other cases, without a broker). Reading again is our consumer's ``reread``: Faust's
``seek_wait`` in the consumer's thread, then forgetting the offset Faust's fetch loop last
delivered. A ChangelogTable's writes, awaited, are in the changelog topic at the offsets the
broker gave them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import faust
import pytest
from faust import Stream
from faust.types import EventT, FutureMessage, StreamT

from streams.seam.changelog import ChangelogTable
from streams.seam.commits import CommittingConsumer, CommittingTransport, HandledOffsets
from tests.fixtures.kafka import (
    KafkaBroker,
    committed_offsets,
    consume_all,
    create_topic,
    produce,
    unique_name,
)

pytestmark = pytest.mark.kafka

RECORDS = 5


def new_app(bootstrap: str, datadir: Path, **settings: Any) -> faust.App:
    return faust.App(
        unique_name("seam"),
        broker=f"kafka://{bootstrap}",
        datadir=str(datadir),
        autodiscover=False,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=3600.0,  # only the test's commits
        **settings,
    )


@asynccontextmanager
async def worker(
    bootstrap: str, topic: str, datadir: Path, handled: HandledOffsets | None
) -> AsyncIterator[tuple[faust.App, list[EventT[bytes]]]]:
    """A Faust worker reading ``topic`` from the start, with our consumer when ``handled`` is
    given; yields once it has been handed every record, none acked."""
    app = new_app(bootstrap, datadir)
    if handled is not None:
        app.transport = CommittingTransport(app.conf.broker_consumer, app, handled)
    source = app.topic(topic, key_serializer="raw", value_serializer="raw")
    events: list[EventT[bytes]] = []
    all_in = asyncio.Event()

    @app.agent(source)
    async def agent(stream: StreamT[bytes]) -> None:
        async for event in cast(Stream[bytes], stream).noack().events():
            events.append(event)
            if len(events) == RECORDS:
                all_in.set()

    await app.start()
    try:
        await asyncio.wait_for(all_in.wait(), 60)
        yield app, events
    finally:
        for event in events:  # or Faust waits for them before it stops
            event.ack()
        await app.stop()


def new_topic(bootstrap: str) -> str:
    topic = unique_name("commits")
    create_topic(bootstrap, topic)
    produce(bootstrap, topic, [(b"k", str(i).encode(), []) for i in range(RECORDS)])
    return topic


async def test_faust_alone_commits_past_a_record_in_flight(
    kafka_bootstrap: KafkaBroker, tmp_path: Path
) -> None:
    bootstrap = kafka_bootstrap.bootstrap_servers
    topic = new_topic(bootstrap)
    async with worker(bootstrap, topic, tmp_path, None) as (app, events):
        for event in events[1:]:  # record 0 is still being handled
            event.ack()
        assert await app.consumer.commit()
        assert committed_offsets(bootstrap, app.conf.id, topic) == {0: RECORDS}  # 0 is lost


async def test_our_consumer_commits_what_the_agent_handled(
    kafka_bootstrap: KafkaBroker, tmp_path: Path
) -> None:
    bootstrap = kafka_bootstrap.bootstrap_servers
    topic = new_topic(bootstrap)
    handled = HandledOffsets()
    async with worker(bootstrap, topic, tmp_path, handled) as (app, events):
        for event in events[1:]:
            event.ack()
        assert not await app.consumer.commit()
        assert committed_offsets(bootstrap, app.conf.id, topic) == {}
        events[0].ack()
        for event in events:  # the agent finishes them, in order
            handled.finished(event.message.tp, event.message.offset)
        assert await app.consumer.commit()
        assert committed_offsets(bootstrap, app.conf.id, topic) == {0: RECORDS}


async def handed(events: list[EventT[bytes]], count: int, within: float) -> list[int]:
    """The offsets of the records handed to the agent, once there are ``count``."""
    async with asyncio.timeout(within):
        while len(events) < count:
            await asyncio.sleep(0.01)
    return [event.message.offset for event in events]


async def test_reading_again_hands_the_records_over_again(
    kafka_bootstrap: KafkaBroker, tmp_path: Path
) -> None:
    bootstrap = kafka_bootstrap.bootstrap_servers
    topic = new_topic(bootstrap)
    async with worker(bootstrap, topic, tmp_path, HandledOffsets()) as (app, events):
        consumer = app.consumer
        assert isinstance(consumer, CommittingConsumer)
        tp = events[0].message.tp
        await consumer.reread(tp, 2)  # through the consumer's thread, as Faust seeks
        assert await handed(events, RECORDS + 3, within=30.0) == [0, 1, 2, 3, 4, 2, 3, 4]


async def test_awaited_changelog_writes_are_in_the_changelog_topic(
    kafka_bootstrap: KafkaBroker, tmp_path: Path
) -> None:
    bootstrap = kafka_bootstrap.bootstrap_servers
    topic = new_topic(bootstrap)
    app = new_app(bootstrap, tmp_path, Table=ChangelogTable, topic_partitions=1)
    table = app.Table("conversations", key_type=bytes, value_type=bytes, partitions=1)
    assert isinstance(table, ChangelogTable)
    done: asyncio.Queue[list[FutureMessage]] = asyncio.Queue()

    @app.agent(app.topic(topic, key_serializer="raw", value_serializer="raw"))
    async def agent(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            writes = table.collect()
            table[b"last"] = event.value
            await table.written(writes)
            done.put_nowait(writes)

    await app.start()
    try:
        records = [await asyncio.wait_for(done.get(), 60) for _ in range(RECORDS)]
    finally:
        await app.stop()
    assert all(len(writes) == 1 for writes in records)
    sent = [(writes[0].result().offset, writes[0].message.value) for writes in records]
    changelog = consume_all(bootstrap, table.changelog_topic_name, 30.0, RECORDS)
    assert [(r.offset, r.value) for r in changelog] == sent
    assert [value for _, value in sent] == [str(i).encode() for i in range(RECORDS)]
