"""SyncAgent.run in Faust's own test context: records go in through ``agent.put``, Faust's
stream hands them to the agent, and the agent's acks go back through ``Stream.ack``.

The agent is registered on the app as create_app registers it, with its real collaborators
(the conversations table, the integration store, the parked index, the replay guard...);
the handler is a stand-in that records what it is handed and finishes each record when the
test says, and under Faust's producer the Kafka client is (:class:`tests.kafka_client.Broker`),
so a table change is in the changelog when the test says. Acks are observed as Faust reports
them, through a sensor.

What Faust's test context needs from us: ``app.finalize()``, ``store="memory://"``, and the
agent measured for an assignment (``on_assigned`` with no partitions, which asks no broker);
the producer buffer is started by hand, as the app is not.
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
from faust.types import TP, AgentT, EventT, RecordMetadata, StreamT
from prometheus_client import CollectorRegistry

from integrations.audit_summary import SummaryWriter
from integrations.kafka_config import KafkaSettings
from integrations.secrets import SecretBox
from integrations.store import IntegrationStore
from processors.directory import CachedDirectory
from schemas.audit import AuditRecord
from schemas.kafka_limits import PRODUCER_MAX_REQUEST_BYTES
from schemas.state import ConversationState
from streams.agent import AgentConfig, SyncAgent
from streams.app import _raw_topic, _register_agent
from streams.delivery import Deliveries
from streams.handler import SourceRecord
from streams.metrics import Metrics
from streams.parking import ParkedIndex
from streams.ports import KafkaOutputs, ReplayGuard, TableEntries, TableStates
from streams.seam.changelog import ChangelogTable
from streams.seam.commits import HandledOffsets
from streams.waiting import WaitingEvents
from tests.fakes import FakeTime, InMemoryVitally
from tests.kafka_client import Broker, Sent

INPUT, RETRY, AUDIT = "events", "events-retry", "audit"
EVENTS = TP(INPUT, 0)

Log = list[tuple[str, bytes | None, int]]


class Handler:
    """Stands in for EventHandler: records each record it is handed, and finishes it when the
    test calls :meth:`finish`; with ``states``, it then saves the conversation's state, as
    EventHandler does."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self.states: TableStates | None = None
        self.outputs: KafkaOutputs | None = None
        self._finish: dict[int, asyncio.Event] = {}

    async def handle(self, record: SourceRecord) -> list[object]:
        self.log.append(("handed", record.key, record.offset))
        await self._gate(record.offset).wait()
        if self.states is not None:
            assert record.key is not None
            conversation = record.key.decode()
            state = ConversationState(
                tenant_id="T01ACME", conversation_id=conversation, status="synced"
            )
            self.states.put(conversation, state.at_offset(record.offset))
        if self.outputs is not None:
            await self.outputs.audit(_audit(record))
        self.log.append(("finished", record.key, record.offset))
        return []

    def finish(self, offset: int) -> None:
        self._gate(offset).set()

    def _gate(self, offset: int) -> asyncio.Event:
        return self._finish.setdefault(offset, asyncio.Event())


def _audit(record: SourceRecord) -> AuditRecord:
    return AuditRecord(
        source=record.ref, tenant_id="T01ACME", conversation_id=(record.key or b"").decode(),
        message_id=None, event="conversation_created", event_id=f"e{record.offset}",
        outcome="synced", reason=None, detail=None, event_timestamp=None, processed_at=1,
    )  # fmt: skip


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


async def _no_publish(key: bytes, value: bytes) -> None:
    """The sync counts' summaries go nowhere here."""


@dataclass
class World:
    app: faust.App
    agent: SyncAgent
    handler: Handler
    states: TableStates
    integrations: IntegrationStore
    broker: Broker
    put: Callable[..., Any]
    outputs: KafkaOutputs
    clock: FakeTime
    log: Log = field(default_factory=list)
    stopping: list[bool] = field(default_factory=lambda: [False])

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
async def world(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    app = faust.App(
        "sync-agent-test",
        broker="kafka://unused:9092",
        store="memory://",
        Table=ChangelogTable,
        autodiscover=False,
    )
    table = app.Table("conversations", default=None, key_type=bytes, value_type=bytes)
    waiting = app.Table("waiting", default=None, key_type=bytes, value_type=bytes)
    log: Log = []
    app.sensors.add(Acks(log))
    handled = HandledOffsets()
    kafka = KafkaSettings(kafka_bootstrap_servers="unused:9092")
    integrations = IntegrationStore(
        kafka=kafka,
        topic="integrations",
        box=SecretBox(Fernet.generate_key().decode()),
        base_url_override=None,
    )
    handler = Handler(log)
    clock = FakeTime()
    states = TableStates(table, clock)
    broker = Broker(app, monkeypatch)
    stopping = [False]
    deliveries = Deliveries(
        stopping=lambda: stopping[0], timeout_s=2.0, grace_s=0.0, on_failure=lambda _: None,
        sleep=lambda _: asyncio.sleep(0),
    )  # fmt: skip
    summary = SummaryWriter(_no_publish, now_ms=lambda: 0)
    outputs = KafkaOutputs(
        _raw_topic(app, AUDIT),
        _raw_topic(app, "dlq"),
        Metrics(CollectorRegistry()),
        deliveries,
        summary,
        max_record_bytes=PRODUCER_MAX_REQUEST_BYTES,
    )
    agent = SyncAgent(
        app,
        AgentConfig(kafka, "sync-agent-test", INPUT, RETRY, 100, 100),
        handler=handler,
        states=states,
        deliveries=deliveries,
        waiting=WaitingEvents(TableEntries(waiting)),
        index=ParkedIndex(),
        integrations=integrations,
        directory=CachedDirectory(InMemoryVitally()),
        replay=ReplayGuard(app),
        handled=handled,
        retry_topic=_raw_topic(app, RETRY),
        clock=clock,
    )
    _register_agent(app, agent, _raw_topic(app, INPUT), park_scan_interval=60.0)
    (faust_agent,) = app.agents.values()
    assert isinstance(faust_agent, AgentT)
    app.finalize()
    buffer = app.producer.buffer
    await buffer.start()  # publishes what table writes put in the buffer
    try:
        async with faust_agent.test_context() as tested:
            yield World(
                app, agent, handler, states, integrations, broker, tested.put, outputs, clock,
                log, stopping,
            )  # fmt: skip
    finally:
        await buffer.stop()


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


async def test_a_record_is_acked_once_its_table_change_is_in_the_changelog(world: World) -> None:
    world.handler.states = world.states
    world.integrations.ready.set()
    await world.agent.on_assigned(set())
    await world.send(b"a", b"b")
    world.handler.finish(0)
    world.handler.finish(1)
    await world.until("finished", 2)
    sent = await world.broker.published(2)
    assert [(s.key, s.partition) for s in sent] == [(b"a", 0), (b"b", 0)]
    assert world.entries("acked") == []  # both changes are still on their way to Kafka
    world.broker.ack(sent[1], 0)
    await asyncio.sleep(0.05)
    assert world.entries("acked") == []  # b's is in, but a's record comes first
    world.broker.ack(sent[0], 1)
    await world.until("acked", 2)
    assert world.entries("acked") == [(b"a", 0), (b"b", 1)]
    state = world.states.get("a")
    assert state is not None and state.last_offset == 0


async def test_a_failed_table_change_stops_the_worker_without_acking(world: World) -> None:
    world.handler.states = world.states
    world.integrations.ready.set()
    await world.agent.on_assigned(set())
    await world.send(b"a")
    world.handler.finish(0)
    (sent,) = await world.broker.published(1)
    sent.answer.set_exception(RuntimeError("changelog write refused"))
    async with asyncio.timeout(2):
        while world.app.crash_reason is None:
            await asyncio.sleep(0.001)
    assert str(world.app.crash_reason) == "output to Kafka failed"
    await asyncio.sleep(0.01)
    assert world.entries("acked") == []  # the next owner of the partition does it again


async def _audited(world: World) -> Sent:
    """Record "a" handled, its audit record sent and not yet answered by Kafka."""
    world.handler.outputs = world.outputs
    world.integrations.ready.set()
    await world.agent.on_assigned(set())
    await world.send(b"a")
    world.handler.finish(0)
    (sent,) = await world.broker.published(1)
    assert sent.topic == AUDIT
    return sent


async def test_an_audit_record_kafka_refuses_is_sent_again_and_its_record_waits_unacked(
    world: World,
) -> None:
    refused = await _audited(world)
    refused.answer.set_exception(RuntimeError("MessageSizeTooLargeError"))
    sent = await world.broker.published(2)
    assert (sent[1].topic, sent[1].key, sent[1].value) == (AUDIT, b"a", refused.value)
    assert world.entries("acked") == []  # not acked, so not committed past
    sent[1].answer.set_result(RecordMetadata(AUDIT, 0, TP(AUDIT, 0), 0))
    await world.until("acked", 1)
    assert world.entries("acked") == [(b"a", 0)]
    assert world.app.crash_reason is None


async def test_a_refused_audit_record_while_stopping_stops_the_worker_without_acking(
    world: World,
) -> None:
    refused = await _audited(world)
    world.stopping[0] = True
    refused.answer.set_exception(RuntimeError("topic deleted"))
    async with asyncio.timeout(2):
        while world.app.crash_reason is None:
            await asyncio.sleep(0.001)
    assert "audit record for this input record was not written to audit" in str(
        world.app.crash_reason
    )
    await asyncio.sleep(0.01)
    assert world.entries("acked") == []


async def test_lag_in_seconds_is_how_long_the_oldest_record_not_finished_has_waited(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.integrations.ready.set()
    await world.agent.on_assigned(set())
    highwater = {EVENTS: 0}
    monkeypatch.setattr(world.app.consumer, "assignment", lambda: {EVENTS})
    monkeypatch.setattr(world.app.consumer, "highwater", lambda tp: highwater[tp])
    assert world.agent.lag_seconds() == {}  # nothing of it read yet: not measured
    world.clock.seconds = 1000.0
    for key, at in ((b"a", 900.0), (b"b", 950.0)):
        await world.put(b"{}", key=key, partition=EVENTS.partition, timestamp=at, wait=False)
    await world.until("handed", 2)
    assert world.agent.lag_seconds() == {(INPUT, 0): 100.0}  # offset 0, in hand
    world.handler.finish(0)
    await world.until("acked", 1)
    assert world.agent.lag_seconds() == {(INPUT, 0): 50.0}  # offset 1 is the oldest now
    world.handler.finish(1)
    await world.until("acked", 2)
    highwater[EVENTS] = 5  # three more on the broker, not read yet: at most this old
    assert world.agent.lag_seconds() == {(INPUT, 0): 50.0}
    highwater[EVENTS] = 2  # caught up
    assert world.agent.lag_seconds() == {(INPUT, 0): 0.0}
