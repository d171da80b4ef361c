"""SyncAgent.run in Faust's own test context: records go in through ``agent.put``, Faust's
stream hands them to the agent, and the agent's acks go back through ``Stream.ack``.

The agent is registered on the app as create_app registers it, with its real collaborators
(the conversations table, the integration store, the parked index, the replay guard...);
only the handler is a stand-in that records what it is handed and finishes each record when
the test says. Acks are observed as Faust reports them, through a sensor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import faust
import pytest
from cryptography.fernet import Fernet
from faust.sensors import Sensor
from faust.types import TP, AgentT, EventT, StreamT

from integrations.secrets import SecretBox
from integrations.store import IntegrationStore
from processors.directory import CachedDirectory
from streams.agent import AgentConfig, SyncAgent
from streams.app import _raw_topic, _register_agent
from streams.handler import SourceRecord
from streams.parking import ParkedIndex
from streams.ports import ReplayGuard, TableStates
from streams.seam.changelog import ChangelogTable
from streams.seam.commits import HandledOffsets
from tests.fakes import FakeTime, InMemoryVitally

INPUT, RETRY = "events", "events-retry"
EVENTS = TP(INPUT, 0)

Log = list[tuple[str, bytes | None, int]]


class Handler:
    """Stands in for EventHandler: records each record it is handed, and finishes it when the
    test calls :meth:`finish`."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self._finish: dict[int, asyncio.Event] = {}

    async def handle(self, record: SourceRecord) -> list[object]:
        self.log.append(("handed", record.key, record.offset))
        await self._gate(record.offset).wait()
        self.log.append(("finished", record.key, record.offset))
        return []

    def finish(self, offset: int) -> None:
        self._gate(offset).set()

    def _gate(self, offset: int) -> asyncio.Event:
        return self._finish.setdefault(offset, asyncio.Event())


class Acks(Sensor):
    """Faust's report of every event a stream acks."""

    def __init__(self, log: Log) -> None:
        super().__init__()
        self.acked = log

    def on_stream_event_out(
        self,
        tp: TP,
        offset: int,
        stream: StreamT[Any],
        event: EventT[Any],
        state: dict[Any, Any] | None = None,
    ) -> None:
        self.acked.append(("acked", event.key, offset))


@dataclass
class World:
    agent: SyncAgent
    handler: Handler
    integrations: IntegrationStore
    put: Callable[..., Any]
    log: Log = field(default_factory=list)

    async def send(self, *keys: bytes) -> None:
        for key in keys:
            await self.put(b"{}", key=key, partition=EVENTS.partition, wait=False)

    def entries(self, kind: str) -> list[tuple[bytes | None, int]]:
        return [(key, offset) for k, key, offset in self.log if k == kind]

    async def until(self, kind: str, count: int) -> None:
        async with asyncio.timeout(2):
            while len(self.entries(kind)) < count:
                await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)  # and nothing else follows on its own


@pytest.fixture
async def world() -> AsyncIterator[World]:
    app = faust.App(
        "sync-agent-test",
        broker="kafka://unused:9092",
        store="memory://",
        Table=ChangelogTable,
        autodiscover=False,
    )
    table = app.Table("conversations", default=None, key_type=bytes, value_type=bytes)
    log: Log = []
    app.sensors.add(Acks(log))
    handled = HandledOffsets()
    integrations = IntegrationStore(
        bootstrap_servers="unused:9092",
        topic="integrations",
        box=SecretBox(Fernet.generate_key().decode()),
        base_url_override=None,
    )
    handler = Handler(log)
    agent = SyncAgent(
        app,
        AgentConfig("unused:9092", "sync-agent-test", INPUT, RETRY, 100, 100),
        handler=handler,
        states=TableStates(table),
        index=ParkedIndex(),
        integrations=integrations,
        directory=CachedDirectory(InMemoryVitally()),
        replay=ReplayGuard(app),
        handled=handled,
        retry_topic=_raw_topic(app, RETRY),
        clock=FakeTime(),
    )
    _register_agent(app, agent, _raw_topic(app, INPUT), park_scan_interval=60.0)
    (faust_agent,) = app.agents.values()
    assert isinstance(faust_agent, AgentT)
    app.finalize()
    async with faust_agent.test_context() as tested:
        yield World(agent, handler, integrations, tested.put, log)


async def test_nothing_is_handed_before_the_tenants_are_read_and_the_assignment_measured(
    world: World,
) -> None:
    await world.send(b"a")
    await asyncio.sleep(0.05)
    world.integrations.ready.set()
    await asyncio.sleep(0.05)
    assert world.entries("handed") == []
    await world.agent.on_assigned(set())  # nothing assigned: no broker to ask
    await world.until("handed", 1)
    assert world.entries("handed") == [(b"a", 0)]


async def test_records_are_handed_in_order_per_key_and_acked_in_offset_order(
    world: World,
) -> None:
    world.integrations.ready.set()
    await world.agent.on_assigned(set())
    await world.send(b"a", b"b", b"a", b"c", b"b")  # offsets 0 to 4
    # Each conversation's first record is handed at once; later ones wait for it.
    await world.until("handed", 3)
    assert world.entries("handed") == [(b"a", 0), (b"b", 1), (b"c", 3)]
    world.handler.finish(3)
    world.handler.finish(1)
    await world.until("handed", 4)
    assert world.entries("handed")[3] == (b"b", 4)  # b's next, once b's first finished
    assert world.entries("acked") == []  # 0 is still being handled
    world.handler.finish(0)
    await world.until("acked", 2)
    assert world.entries("acked") == [(b"a", 0), (b"b", 1)]  # not 3: 2 is in flight
    assert world.entries("handed")[4] == (b"a", 2)
    world.handler.finish(4)
    world.handler.finish(2)
    await world.until("acked", 5)
    assert world.entries("acked") == [(b"a", 0), (b"b", 1), (b"a", 2), (b"c", 3), (b"b", 4)]
    for key in (b"a", b"b"):  # each record of a key was handed after the one before finished
        mine = [(kind, offset) for kind, k, offset in world.log if k == key and kind != "acked"]
        assert [kind for kind, _ in mine] == ["handed", "finished"] * 2
        assert [offset for _, offset in mine] == sorted(offset for _, offset in mine)
