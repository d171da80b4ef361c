"""The Faust app: topics, the conversations table, the sync agent, web views.

The agent stays thin. It reads records without auto-ack, hands each to a per-conversation
lane (:mod:`streams.lanes`) and acks in offset order per partition once the record is fully
handled (state written, audit record sent). Faust flushes the producer before it commits, so
an offset is only committed after the audit record and table change it produced.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
from faust.types import TP, EventT, StreamT

from processors.clock import SystemClock
from processors.directory import CachedDirectory
from schemas.audit import AuditRecord
from schemas.state import ConversationState
from streams.crypto import SecretBox
from streams.handler import EventHandler, SourceRecord
from streams.integrations import IntegrationStore
from streams.lanes import KeyedLanes, OffsetSequencer
from streams.settings import Settings
from streams.topics import TopicLayout
from streams.views import register_views
from vitally.client import VitallyClient, build_http_client
from vitally.ratelimit import TenantRateLimiter
from vitally.retry import RetryPolicy

log = logging.getLogger(__name__)


class TableStates:
    """The conversations table as the handler's state store (JSON values, str keys)."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str) -> ConversationState | None:
        raw = self._table.get(key.encode())
        return ConversationState.from_json(raw) if raw else None

    def put(self, key: str, state: ConversationState) -> None:
        self._table[key.encode()] = state.to_json()


class KafkaOutputs:
    """Audit records and dead letters, sent through Faust's producer."""

    def __init__(self, audit_topic: faust.TopicT, dlq_topic: faust.TopicT) -> None:
        self._audit = audit_topic
        self._dlq = dlq_topic

    async def audit(self, record: AuditRecord) -> None:
        key = record.conversation_id.encode() if record.conversation_id else None
        await self._audit.send(key=key, value=record.to_json())

    async def dead_letter(self, source: SourceRecord, reason: str, detail: str) -> None:
        headers = {
            "x-error-reason": reason.encode(),
            "x-error-detail": detail[:500].encode(),
            "x-source-topic": source.topic.encode(),
            "x-source-partition": str(source.partition).encode(),
            "x-source-offset": str(source.offset).encode(),
        }
        await self._dlq.send(key=source.key, value=source.value, headers=headers)


class ReplayGuard:
    """Says whether a record may already have been applied by an earlier, unfinished run.

    Records below a partition's end offset at the time we took it over were produced before
    we owned it: a previous owner (or we, before a crash) may have written them to Vitally
    without the table remembering. Those are checked against Vitally before any create;
    records that arrive after the takeover are new and cost no extra call.
    """

    def __init__(self, app: faust.App, topic: str) -> None:
        self._app = app
        self._topic = topic
        self._horizon: dict[TP, int] = {}

    async def take_over(self, assigned: set[TP]) -> None:
        self._horizon.clear()
        mine = [tp for tp in assigned if tp.topic == self._topic]
        if mine:
            self._horizon.update(await self._app.consumer.highwaters(*mine))

    async def maybe_applied(self, record: SourceRecord) -> bool:
        tp = TP(record.topic, record.partition)
        if tp not in self._horizon:
            highwaters = await self._app.consumer.highwaters(tp)
            self._horizon[tp] = highwaters.get(tp, 0)
        return record.offset < self._horizon[tp]


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
    )
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    source = app.topic(settings.input_topic, partitions=layout.input_partitions, **raw)
    outputs = KafkaOutputs(
        app.topic(settings.audit_topic, partitions=layout.input_partitions, **raw),
        app.topic(settings.dlq_topic, partitions=layout.input_partitions, **raw),
    )
    table = app.Table(
        "conversations",
        default=None,
        partitions=layout.input_partitions,
        help="Vitally conversation id and routing per Unthread conversation",
        # bytes means "raw" to Faust tables, for the changelog and for recovery alike.
        key_type=bytes,
        value_type=bytes,
    )
    integrations = IntegrationStore(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topic=settings.integrations_topic,
        partitions=layout.integrations_partitions,
        box=SecretBox(settings.secrets_key.get_secret_value()),
        base_url_override=settings.vitally_base_url,
    )
    vitally = VitallyClient(
        build_http_client(
            timeout=settings.http_timeout_seconds, max_connections=settings.http_max_connections
        ),
        limiter=TenantRateLimiter(share=settings.vitally_rate_limit_share),
    )
    retry = RetryPolicy(
        max_attempts=settings.retry_attempts,
        base_delay=settings.retry_base_delay_seconds,
        max_delay=settings.retry_max_delay_seconds,
    )
    replay = ReplayGuard(app, settings.input_topic)
    handler = EventHandler(
        tenants=integrations,
        states=TableStates(table),
        outputs=outputs,
        vitally=vitally,
        directory=CachedDirectory(
            vitally,
            ttl=settings.lookup_cache_ttl_seconds,
            miss_ttl=settings.lookup_miss_ttl_seconds,
        ),
        clock=SystemClock(),
        retry=retry,
        max_event_bytes=settings.max_event_bytes,
        maybe_applied=replay.maybe_applied,
    )
    lanes = KeyedLanes(settings.max_in_flight)
    sequencer: OffsetSequencer[TP, EventT] = OffsetSequencer()

    @app.task
    async def load_integrations() -> None:
        await integrations.run()

    @app.on_partitions_assigned.connect
    async def on_assigned(app: faust.App, assigned: set[TP], **kwargs: Any) -> None:
        await replay.take_over(assigned)

    @app.agent(source)
    async def sync(stream: StreamT[bytes]) -> None:
        await integrations.ready.wait()
        manual = stream.noack()
        async for event in manual.events():
            message = event.message
            slot = sequencer.track(message.tp, message.offset, event)

            async def work(event: EventT = event, slot: Any = slot) -> None:
                message = event.message
                record = SourceRecord(
                    message.topic, message.partition, message.offset, message.key, message.value
                )
                try:
                    await handler.handle(record)
                except Exception:
                    # Only Kafka itself failing to take our output lands here. Acking would
                    # lose the record; stopping unacked makes the next owner redo it.
                    log.exception("could not record the outcome; stopping the worker")
                    await app.crash(RuntimeError("output to Kafka failed"))  # type: ignore[arg-type]
                    return
                for finished in sequencer.finish(message.tp, slot):
                    await manual.ack(finished)

            lane = message.key or f"{message.tp}:{message.offset}".encode()
            await lanes.submit(lane, work)

    register_views(app, integrations=integrations)
    return app
