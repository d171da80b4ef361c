"""The Faust app: topics, the conversations table, the sync agent, the retry timer, web views.

The agent stays thin. It reads input and retry records without auto-ack, hands each to a
per-conversation lane (:mod:`streams.lanes`) and acks in offset order per partition once the
record is fully handled: its table changes are in the changelog (Faust's flush before a
commit does not wait for them, see :mod:`streams.seam.changelog`) and its audit record is
in the Kafka client's batches, which that flush does wait for. So an offset is only
committed after the audit record and table change it produced.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import faust
from faust.types import TP, EventT, StreamT

from integrations.secrets import SecretBox
from integrations.store import IntegrationStore
from processors.clock import SystemClock
from processors.conversation_index import ConversationIndex
from processors.directory import CachedDirectory
from schemas.integration import IntegrationRecord
from streams.handler import EventHandler, SourceRecord
from streams.lanes import KeyedLanes, OffsetSequencer
from streams.parking import ParkedIndex, ParkingPolicy
from streams.ports import KafkaOutputs, ReplayGuard, TableStates
from streams.seam.changelog import ChangelogTable
from streams.seam.commits import GatedConsumer, GatedTransport, HandledOffsets
from streams.seam.continuity import OffsetContinuity
from streams.seam.flow import PartitionWindow, resume_fetching, stop_fetching
from streams.seam.probe import OffsetProbe
from streams.seam.start_offsets import start_offsets
from streams.settings import Settings
from streams.tenant_gate import TenantGate
from streams.topics import TopicLayout
from streams.web.probes import register_views
from streams.web.tenants import register_tenant_api
from vitally.client import VitallyClient, build_http_client
from vitally.ratelimit import TenantRateLimiter
from vitally.retry import NO_RETRY, RetryPolicy

log = logging.getLogger(__name__)


def create_app(settings: Settings, layout: TopicLayout) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        store=settings.store,
        datadir=settings.data_dir,
        topic_partitions=layout.input_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=settings.commit_interval_seconds,
        producer_acks=-1,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        autodiscover=False,
        # Its changes can be awaited: a record is acked only once they are in the changelog.
        Table=ChangelogTable,
    )
    # Before anything creates Faust's own: Faust commits what the agent handled, in order.
    handled = HandledOffsets()
    app.transport = GatedTransport(app.conf.broker_consumer, app, handled)
    partitions = layout.input_partitions
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    # One agent reads both: a retry record runs in its conversation's lane, in order.
    source = app.topic(settings.input_topic, settings.retry_topic, partitions=partitions, **raw)
    retry_topic = app.topic(settings.retry_topic, partitions=partitions, **raw)
    integrations_topic = app.topic(settings.integrations_topic, **raw)
    outputs = KafkaOutputs(
        app.topic(settings.audit_topic, partitions=partitions, **raw),
        app.topic(settings.dlq_topic, partitions=partitions, **raw),
    )
    table = app.Table(
        "conversations",
        default=None,
        partitions=partitions,
        help="Vitally ids, routing and parked events per Unthread conversation",
        # bytes means "raw" to Faust tables, for the changelog and for recovery alike.
        key_type=bytes,
        value_type=bytes,
    )
    continuity = OffsetContinuity()
    probe = OffsetProbe(settings.kafka_bootstrap_servers)
    source_topics = frozenset({settings.input_topic, settings.retry_topic})

    def consumer() -> GatedConsumer:
        return app.consumer  # type: ignore[return-value]  # made by GatedTransport

    # Set once on_assigned has taken the measure of a new assignment (replay horizon, where
    # each partition continues). Faust's recovery can resume fetching before that handler
    # has run, as it sends the signal after starting recovery; nothing is handled until then.
    measured = asyncio.Event()

    def settled() -> bool:
        return not app.rebalancing and app.tables.recovery.completed.is_set() and measured.is_set()

    states = TableStates(table)
    index = ParkedIndex()

    async def publish_integration(record: IntegrationRecord) -> None:
        sent = await integrations_topic.send(key=record.tenant_id.encode(), value=record.to_json())
        await sent  # durable before anyone is told it happened

    integrations = IntegrationStore(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topic=settings.integrations_topic,
        box=SecretBox(settings.secrets_key.get_secret_value()),
        base_url_override=settings.vitally_base_url,
        publish=publish_integration,
        on_reconnect=index.wake_tenant,
    )
    vitally = VitallyClient(
        build_http_client(
            timeout=settings.http_timeout_seconds,
            max_connections=settings.http_max_connections,
        ),
        limiter=TenantRateLimiter(share=settings.vitally_rate_limit_share),
        # The handler is the one place that retries (whole events, with parking after).
        retry=NO_RETRY,
        max_concurrent=settings.http_max_connections,
        # Longer than the longest in-line wait, an event parks instead (see the handler).
        max_budget_wait=settings.retry_max_delay_seconds,
    )
    replay = ReplayGuard(app)

    def stopping() -> bool:
        # Both are set at once: by a SIGTERM, and by the consumer's rebalance callback, which
        # runs before Faust waits for in-flight events (its revoke signal comes after that).
        return bool(app.should_stop) or app.rebalancing

    directory = CachedDirectory(
        vitally,
        ttl=settings.lookup_cache_ttl_seconds,
        miss_ttl=settings.lookup_miss_ttl_seconds,
        max_entries=settings.lookup_cache_max_entries,
        # A write that got no answer may land for as long as a call may take.
        conversations=ConversationIndex(
            vitally, settle_s=settings.http_timeout_seconds, stopping=stopping
        ),
    )
    handler = EventHandler(
        tenants=integrations,
        states=states,
        outputs=outputs,
        vitally=vitally,
        directory=directory,
        clock=SystemClock(),
        retry=RetryPolicy(
            max_attempts=settings.retry_attempts,
            base_delay=settings.retry_base_delay_seconds,
            max_delay=settings.retry_max_delay_seconds,
        ),
        parking=ParkingPolicy(
            min_delay_s=settings.park_min_delay_seconds,
            max_delay_s=settings.park_max_delay_seconds,
            transient_max_delay_s=settings.park_transient_max_delay_seconds,
            people_window_s=settings.park_people_window_seconds,
        ),
        index=index,
        retry_topic=settings.retry_topic,
        max_event_bytes=settings.max_event_bytes,
        maybe_applied=replay.maybe_applied,
        gate=TenantGate(settings.max_in_flight_per_tenant),
        stopping=stopping,
    )
    lanes = KeyedLanes(settings.max_in_flight)
    sequencer: OffsetSequencer[TP, EventT] = OffsetSequencer()
    window = PartitionWindow(
        settings.max_in_flight_per_partition,
        in_flight=sequencer.in_flight,
        pause=lambda tps: stop_fetching(app.consumer, tps),
        resume=lambda tps: resume_fetching(app.consumer, tps),
        may_resume=settled,
    )
    rebuild_index = True

    @app.task
    async def load_integrations() -> None:
        await integrations.run()

    @app.on_partitions_revoked.connect
    async def on_revoked(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
        window.forget(revoked)
        measured.clear()  # before the next assignment's records can flow

    @app.on_partitions_assigned.connect
    async def on_assigned(app: faust.App, assigned: set[TP], **kwargs: Any) -> None:
        nonlocal rebuild_index
        await replay.take_over(assigned)
        directory.taken_over()
        handled.forget()
        continuity.reset(
            await start_offsets(
                settings.kafka_bootstrap_servers,
                settings.app_id,
                [(tp.topic, tp.partition) for tp in assigned if tp.topic in source_topics],
            )
        )
        rebuild_index = True
        measured.set()

    @app.timer(interval=settings.park_scan_interval_seconds)
    async def wake_parked() -> None:
        """Send a retry record for each parked conversation that is due (timers cannot write)."""
        nonlocal rebuild_index
        if not settled():
            return
        mine = {tp.partition for tp in app.assignor.assigned_actives()
                if tp.topic == settings.input_topic}  # fmt: skip
        if rebuild_index:
            index.rebuild(states.parked(mine))
            rebuild_index = False
        for key, partition in index.due(int(time.time() * 1000), mine):
            conversation = key.partition("/")[2]
            await retry_topic.send(
                key=conversation.encode(), value=key.encode(), partition=partition
            )

    async def read_missed(tp: TP, upto: int, seen: str) -> bool:
        """Ask the broker about the records we expected before ``upto``; read them again if it
        has them. False when it has none (markers, compaction): the hole is stepped over."""
        expected = continuity.expected(tp) or 0
        first = await probe.first_record(tp.topic, tp.partition, expected, upto)
        target = continuity.settle(tp, upto, first)
        if target is None:
            log.debug("no records at %s/%s offsets %s..%s (markers or compaction)",
                      tp.topic, tp.partition, expected, upto - 1)  # fmt: skip
            return False
        log.warning(
            "records missed in %s/%s: %s, reading again from %s",
            tp.topic, tp.partition, seen, target,
        )  # fmt: skip
        await consumer().reread(tp, target)
        return True

    @app.timer(interval=1.0)
    async def find_vanished_records() -> None:
        """Read again where Kafka's position ran past records the agent never got."""
        if not settled():
            return
        for tp in consumer().assignment():
            if tp.topic not in source_topics:
                continue
            position = await consumer().position(tp)
            if position is not None and continuity.stalled(tp, position) is not None:
                await read_missed(tp, position, f"position {position} while idle")

    @app.on_before_shutdown.connect
    async def close_clients(app: faust.App, **kwargs: Any) -> None:
        probe.close()
        await vitally.aclose()

    @app.agent(source)
    async def sync(stream: StreamT[bytes]) -> None:
        await integrations.ready.wait()
        manual = stream.noack()
        async for event in continuity.watch(manual.events()):
            await measured.wait()
            message = event.message
            tp, offset = message.tp, message.offset
            verdict = continuity.check(tp, offset)
            if verdict == "hole" and not await read_missed(tp, offset, f"got {offset}"):
                verdict = continuity.check(tp, offset)  # nothing was missing before it
            if verdict != "handle":
                # Not acked: read again once the records before it are in.
                consumer().forget_read_offset(tp)
                continue
            slot = sequencer.track(message.tp, message.offset, event)
            window.admitted(message.tp)

            async def work(event: EventT = event, slot: Any = slot) -> None:
                message = event.message
                record = SourceRecord(
                    message.topic, message.partition, message.offset, message.key, message.value
                )
                try:
                    writes = states.collect_writes()
                    await handler.handle(record)
                    await states.written(writes)
                except Exception:
                    # Only Kafka itself failing to take our output lands here. Acking would
                    # lose the record; stopping unacked makes the next owner redo it.
                    log.exception("could not record the outcome; stopping the worker")
                    await app.crash(RuntimeError("output to Kafka failed"))  # type: ignore[arg-type]
                    return
                released = sequencer.finish(message.tp, slot)
                for finished in released:
                    await manual.ack(finished)
                    handled.finished(finished.message.tp, finished.message.offset)
                window.finished(message.tp)

            lane = message.key or f"{message.tp}:{message.offset}".encode()
            await lanes.submit(lane, work)

    register_views(app, integrations=integrations)
    register_tenant_api(app, settings, integrations=integrations)
    return app
