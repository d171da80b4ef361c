"""The sync agent and its timers: how Faust's stream reaches the handler, and acks come back.

The agent stays thin. It reads input and retry records without auto-ack, hands each to a
per-conversation lane (:mod:`streams.lanes`) and acks in offset order per partition once the
record is fully handled: its table changes are in the changelog (Faust's flush before a
commit does not wait for them, see :mod:`streams.seam.changelog`) and Kafka has accepted its
audit record and DLQ copy (Faust's flush ignores a refused one, see :mod:`streams.delivery`).
So an offset is only committed after the audit record, DLQ copy and table change it
produced (docs/faust-pitfalls.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, cast

import faust
from faust import Stream
from faust.types import TP, EventT, StreamT

from integrations.kafka_config import KafkaSettings
from integrations.store import IntegrationStore
from processors.clock import Clock, epoch_ms, epoch_s
from processors.directory import CachedDirectory
from schemas.dead_letter import Headers
from streams.delivery import Deliveries, UndeliveredOutput
from streams.handler import SourceRecord
from streams.lanes import KeyedLanes, OffsetSequencer
from streams.logs import bind_event
from streams.parking import ParkedIndex
from streams.ports import ReplayGuard, TableStates
from streams.pruning import PRUNE, PRUNE_HEADER, PrunePolicy, forget_if_due, is_prune
from streams.seam.app_state import tables_recovered
from streams.seam.commits import CommittingConsumer, HandledOffsets
from streams.seam.continuity import OffsetContinuity
from streams.seam.faust_topics import unassigned_changelogs
from streams.seam.flow import PartitionWindow, resume_fetching, stop_fetching
from streams.seam.probe import OffsetProbe
from streams.seam.start_offsets import start_offsets
from streams.waiting import WaitingEvents

log = logging.getLogger(__name__)


class RecordHandler(Protocol):
    """What the agent needs of :class:`streams.handler.EventHandler`: one record, handled."""

    async def handle(self, record: SourceRecord) -> object: ...


@dataclass(frozen=True)
class AgentConfig:
    """What the agent needs to know of the deployment."""

    kafka: KafkaSettings
    group_id: str
    input_topic: str
    retry_topic: str
    max_in_flight: int
    max_in_flight_per_partition: int


class SyncAgent:
    """Feeds the stream to the handler through lanes and releases acks in offset order."""

    def __init__(
        self,
        app: faust.App,
        config: AgentConfig,
        *,
        handler: RecordHandler,
        states: TableStates,
        deliveries: Deliveries,
        waiting: WaitingEvents,
        index: ParkedIndex,
        integrations: IntegrationStore,
        directory: CachedDirectory,
        replay: ReplayGuard,
        handled: HandledOffsets,
        retry_topic: faust.TopicT,
        clock: Clock,
        prune: PrunePolicy = PrunePolicy(None),  # noqa: B008 - frozen
    ) -> None:
        self._app = app
        self._config = config
        self._handler = handler
        self._states = states
        self._deliveries = deliveries
        self._waiting = waiting
        self._index = index
        self._integrations = integrations
        self._directory = directory
        self._replay = replay
        self._handled = handled
        self._retry_topic = retry_topic
        self._clock = clock
        self._prune = prune
        self._sources = frozenset({config.input_topic, config.retry_topic})
        self._continuity = OffsetContinuity(clock=clock.monotonic)
        self._probe = OffsetProbe(config.kafka)
        self._lanes = KeyedLanes(config.max_in_flight)
        self._sequencer: OffsetSequencer[TP, EventT[bytes]] = OffsetSequencer()
        self._window = self._partition_window()
        # Set once on_assigned has taken the measure of a new assignment (replay horizon,
        # where each partition continues). Faust's recovery can resume fetching before that
        # handler has run, as it sends the signal after starting recovery; nothing is handled
        # until then.
        self._measured = asyncio.Event()
        self._rebuild_index = True
        # Per source partition, the timestamp (s) of the last record finished in order.
        self._finished_at: dict[TP, float] = {}

    def _partition_window(self) -> PartitionWindow:
        """Fetching paused for a partition with too many records in flight (the consumer
        is looked up when used: Faust makes it later)."""
        app = self._app
        return PartitionWindow(
            self._config.max_in_flight_per_partition,
            in_flight=self._sequencer.in_flight,
            pause=lambda tps: stop_fetching(app.consumer, tps),
            resume=lambda tps: resume_fetching(app.consumer, tps),
            may_resume=self.settled,
        )

    def settled(self) -> bool:
        """No rebalance under way, tables recovered, and the assignment measured."""
        return not self._app.rebalancing and tables_recovered(self._app) and self._measured.is_set()

    def _consumer(self) -> CommittingConsumer:
        consumer = self._app.consumer
        assert isinstance(consumer, CommittingConsumer)  # noqa: S101 - CommittingTransport's
        return consumer

    async def on_revoked(self, revoked: set[TP]) -> None:
        self._window.forget(revoked)
        self._measured.clear()  # before the next assignment's records can flow

    async def on_assigned(self, assigned: set[TP]) -> None:
        if missing := unassigned_changelogs(self._app, assigned, self._config.input_topic):
            log.error(
                "table changelog partitions missing from this worker's assignment: those "
                "tables start empty here; stop every worker, wait KAFKA_SESSION_TIMEOUT_SECONDS, "
                "then start them",
                extra={"reason": "changelog_unassigned", "partitions": missing},
            )
        await self._replay.take_over(assigned)
        self._directory.taken_over()
        self._handled.forget()
        mine = [(tp.topic, tp.partition) for tp in assigned if tp.topic in self._sources]
        self._continuity.reset(await start_offsets(self._config.kafka, self._config.group_id, mine))
        self._rebuild_index = True
        self._measured.set()

    async def wake_parked(self) -> None:
        """Send a retry record for each parked conversation that is due (timers cannot write
        tables; the agent resumes the conversation in its lane when the record arrives)."""
        if not self.settled():
            return
        mine = {
            tp.partition
            for tp in self._app.assignor.assigned_actives()
            if tp.topic == self._config.input_topic
        }
        if self._rebuild_index:
            self._index.rebuild(self._states.waiting(mine, self._waiting))
            self._rebuild_index = False
        for key, partition in self._index.due(epoch_ms(self._clock), mine):
            conversation = key.partition("/")[2]
            await self._retry_topic.send(
                key=conversation.encode(), value=key.encode(), partition=partition
            )

    async def prune_finished(self) -> None:
        """Send a prune record for each finished conversation due (streams.pruning)."""
        if not self.settled() or self._prune.after_ms is None:
            return
        mine = {
            tp.partition
            for tp in self._app.assignor.assigned_actives()
            if tp.topic == self._config.input_topic
        }
        async for key, partition in self._states.prunable(self._prune, mine):
            conversation = key.partition("/")[2]
            await self._retry_topic.send(
                key=conversation.encode(), value=key.encode(), partition=partition,
                headers=[(PRUNE_HEADER, PRUNE)],
            )  # fmt: skip

    async def find_vanished_records(self) -> None:
        """Read again where Kafka's position ran past records the agent never got."""
        if not self.settled():
            return
        consumer = self._consumer()
        for tp in consumer.assignment():
            if tp.topic not in self._sources:
                continue
            position = await consumer.position(tp)
            if position is not None and self._continuity.stalled(tp, position) is not None:
                await self._read_missed(tp, position, f"position {position} while idle")

    async def _read_missed(self, tp: TP, upto: int, seen: str) -> bool:
        """Ask the broker about the records we expected before ``upto``; read them again if it
        has them. False when it has none (markers, compaction): the hole is stepped over."""
        expected = self._continuity.expected(tp) or 0
        first = await self._probe.first_record(tp.topic, tp.partition, expected, upto)
        target = self._continuity.settle(tp, upto, first)
        if target is None:
            log.debug("no records at %s/%s offsets %s..%s (markers or compaction)",
                      tp.topic, tp.partition, expected, upto - 1)  # fmt: skip
            return False
        log.warning(
            "records missed in %s/%s: %s, reading again from %s",
            tp.topic, tp.partition, seen, target,
        )  # fmt: skip
        await self._consumer().reread(tp, target)
        return True

    def close(self) -> None:
        self._probe.close()

    @property
    def in_flight(self) -> int:
        return self._lanes.in_flight

    def lag(self) -> dict[tuple[str, int], int]:
        """Per source partition, the records after the last one finished in order."""
        consumer = self._app.consumer
        behind = {}
        for tp in consumer.assignment():
            done = self._handled.next_offset(tp)
            if tp.topic in self._sources and done is not None:
                behind[(tp.topic, tp.partition)] = max(0, consumer.highwater(tp) - done)
        return behind

    def progress(self) -> int:
        """Grows whenever a record of a source partition is finished in order (liveness)."""
        return sum(
            self._handled.next_offset(tp) or 0
            for tp in self._app.consumer.assignment()
            if tp.topic in self._sources
        )

    def lag_seconds(self) -> dict[tuple[str, int], float]:
        """Per source partition, how long the oldest record not finished has waited since its
        timestamp: the one in hand, else (records remain, not yet read) at most as long as
        since the last finished one's timestamp; 0 when caught up. Like :meth:`lag`, a
        partition appears once a record of it was finished or is in hand."""
        consumer, now = self._app.consumer, epoch_s(self._clock)
        ages = {}
        for tp in consumer.assignment():
            if tp.topic not in self._sources:
                continue
            oldest, done = self._sequencer.oldest(tp), self._handled.next_offset(tp)
            if oldest is not None:
                since: float | None = oldest.message.timestamp
            elif done is None:
                continue  # nothing finished since it was assigned: not measured yet
            elif consumer.highwater(tp) > done:
                since = self._finished_at.get(tp)
            else:
                since = now
            if since is not None:
                ages[(tp.topic, tp.partition)] = max(0.0, now - since)
        return ages

    async def run(self, stream: StreamT[bytes]) -> None:
        """The agent: every record of the input and retry topics, in its conversation's lane."""
        await self._integrations.ready.wait()
        manual = cast(Stream[bytes], stream).noack()
        async for event in self._continuity.watch(manual.events()):
            await self._measured.wait()
            tp, offset = event.message.tp, event.message.offset
            verdict = self._continuity.check(tp, offset)
            if verdict == "hole" and not await self._read_missed(tp, offset, f"got {offset}"):
                verdict = self._continuity.check(tp, offset)  # nothing was missing before it
            if verdict != "handle":
                # Not acked: read again once the records before it are in.
                self._consumer().forget_read_offset(tp)
                continue
            slot = self._sequencer.track(tp, offset, event)
            self._window.admitted(tp)
            lane = event.message.key or f"{tp}:{offset}".encode()
            # The task the lane makes for it is created here, inside stream iteration, so it
            # carries Faust's current event and its table writes reach the right partition.
            await self._lanes.submit(lane, partial(self._work, manual, event, slot))

    async def _work(self, stream: StreamT[bytes], event: EventT[bytes], slot: Any) -> None:
        message = event.message
        bind_event(topic=message.topic, partition=message.partition, offset=message.offset)
        record = SourceRecord(
            message.topic, message.partition, message.offset, message.key, message.value,
            _headers(message.headers),
        )  # fmt: skip
        try:
            writes = self._states.collect_writes()
            outputs = self._deliveries.collect()
            if message.topic == self._config.retry_topic and is_prune(record.headers):
                self._forget(record)
            else:
                await self._handler.handle(record)
            await self._states.written(writes)
            await self._deliveries.delivered(outputs)
        except UndeliveredOutput as undelivered:
            log.critical("%s; stopping the worker, this record unacked", undelivered)  # noqa: TRY400 - one line, the reason is in it
            await self._app.crash(undelivered)
            return
        except Exception:
            # Only Kafka itself failing to take our output lands here. Acking would lose the
            # record; stopping unacked makes the next owner redo it.
            log.exception("could not record the outcome; stopping the worker")
            await self._app.crash(RuntimeError("output to Kafka failed"))
            return
        for finished in self._sequencer.finish(message.tp, slot):
            await stream.ack(finished)
            self._handled.finished(finished.message.tp, finished.message.offset)
            self._finished_at[finished.message.tp] = finished.message.timestamp
        self._window.finished(message.tp)

    def _forget(self, record: SourceRecord) -> None:
        """A prune record, in the conversation's lane: delete its entry if still due."""
        key = (record.value or b"").decode()
        state = forget_if_due(self._states, key, self._prune, epoch_ms(self._clock))
        if state is not None:
            log.info("pruned a finished conversation", extra={"tenant": state.tenant_id,
                     "conversation": state.conversation_id})  # fmt: skip


def _headers(headers: Mapping[str, bytes] | Sequence[tuple[str, bytes]] | None) -> Headers:
    if not headers:
        return ()
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    # Kafka allows a header without a value; it is kept as an empty one.
    return tuple((name, value or b"") for name, value in pairs)
