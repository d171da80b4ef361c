"""The Faust app: topics, the conversations table, the sync agent and its timers, web views.

:func:`create_app` only wires: it builds the collaborators once, from the settings, and hands
them to :class:`streams.agent.SyncAgent` (the stream), :class:`streams.handler.EventHandler`
(one record) and the web layer (:mod:`streams.web`). docs/architecture.md draws the whole.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import TP, StreamT
from prometheus_client import CollectorRegistry

from apiclient.client import CallObserver, Observers
from apiclient.ratelimit import TenantRateLimiter
from integrations.audit_summary import SummaryCounts, SummaryWriter
from integrations.secrets import SecretBox
from integrations.source_walks import WalkStore
from integrations.store import IntegrationStore
from processors.clock import Clock, SystemClock, epoch_ms
from processors.conversation_index import ConversationIndex
from processors.directory import CachedDirectory
from processors.protocols import Collaborators
from processors.unthread_lookup import CachedUnthreadLookup
from schemas.kafka_limits import PRODUCER_MAX_REQUEST_BYTES
from schemas.partitioning import partition_for
from schemas.source_walk import WalkProgress
from streams.agent import AgentConfig, SyncAgent
from streams.delivery import Deliveries
from streams.faust_credentials import faust_credentials
from streams.handler import EventHandler
from streams.input_progress import InputProgress
from streams.liveness import TICK_S, Liveness
from streams.logs import logging_config
from streams.metrics import Metrics, Readings, serve_metrics
from streams.parking import ParkedIndex, ParkingPolicy
from streams.ports import KafkaOutputs, ReplayGuard, TableEntries, TableStates
from streams.pruning import PrunePolicy
from streams.seam.app_state import on_signal
from streams.seam.changelog import ChangelogTable
from streams.seam.commits import CommittingTransport, HandledOffsets
from streams.seam.membership import MEMBERSHIP, StaticMemberAssignor
from streams.seam.membership import install as install_membership
from streams.seam.sealed import sealed_app
from streams.seam.stop import install as install_stop
from streams.settings import Settings
from streams.shutdown import ShutdownDeadline
from streams.source_sync import SourceSync
from streams.tenant_gate import TenantGate
from streams.topics import TopicLayout
from streams.vitally_health import VitallyHealth
from streams.waiting import WaitingEvents
from streams.web.probes import register_views
from streams.web.tenants import faust_publisher, register_tenant_api
from unthread.client import UnthreadClient
from unthread.client import build_http_client as build_unthread_http_client
from unthread.client import default_limiter as default_unthread_limiter
from vitally.client import VitallyClient, build_http_client
from vitally.retry import NO_RETRY, RetryPolicy

log = logging.getLogger(__name__)

FENCED_EXIT_DELAY_S = 2.0
SHUTDOWN_MARGIN_S = 10.0


def create_app(settings: Settings, layout: TopicLayout, clock: Clock | None = None) -> faust.App:
    clock = clock or SystemClock()
    app = _faust_app(settings, layout)
    # Before anything creates Faust's own: Faust commits what the agent handled, in order.
    handled = HandledOffsets()
    app.transport = CommittingTransport(app.conf.broker_consumer, app, handled)
    partitions = layout.input_partitions
    # One agent reads both: a retry record runs in its conversation's lane, in order.
    source = _raw_topic(app, settings.input_topic, settings.retry_topic, partitions=partitions)
    table, waiting = _tables(app, partitions)
    index = ParkedIndex()
    integrations = _integration_store(app, settings, index)
    index.attention_cleared = lambda tenant_id: not integrations.needs_attention(tenant_id)
    metrics = Metrics(CollectorRegistry())  # one per app: Faust's sensors and ours
    counts, summary = _audit_summary(app, settings, clock)
    unthread = _unthread_client(settings, observer=metrics.unthread)

    stopping = _stopping(app)
    vitally, health = _vitally_and_health(settings, clock, index, integrations, metrics, stopping)
    states = TableStates(table, clock)
    replay = ReplayGuard(app)
    deliveries = Deliveries(
        stopping=stopping, timeout_s=app.conf.broker_request_timeout,
        grace_s=settings.http_timeout_seconds, on_failure=metrics.not_delivered,
    )  # fmt: skip
    directory = _directory(settings, vitally, clock, stopping)
    outputs = _outputs(app, settings, partitions, metrics, deliveries, summary)
    handler = EventHandler(
        tenants=integrations, states=states, waiting=TableEntries(waiting), outputs=outputs,
        calls=Collaborators(vitally, directory, clock),
        unthread=_unthread_lookup(settings, unthread), retry=_retry_policy(settings),
        parking=_parking_policy(settings), index=index, retry_topic=settings.retry_topic,
        max_event_bytes=settings.max_event_bytes, maybe_applied=replay.maybe_applied,
        gate=TenantGate(settings.max_in_flight_per_tenant), stopping=stopping,
    )  # fmt: skip
    agent = SyncAgent(
        app, _agent_config(settings), handler=handler, states=states, deliveries=deliveries,
        waiting=WaitingEvents(TableEntries(waiting)), index=index, integrations=integrations,
        directory=directory, replay=replay, handled=handled,
        retry_topic=_raw_topic(app, settings.retry_topic, partitions=partitions), clock=clock,
        prune=_prune_policy(app, settings, layout),
    )  # fmt: skip
    _register_agent(app, agent, source, settings.park_scan_interval_seconds)
    app.timer(interval=settings.state_prune_interval_seconds)(agent.prune_finished)
    _serve_metrics(app, metrics, agent, index, integrations, clock)
    _recover_tenants(app, health, agent)
    walks = _source_sync(app, settings, partitions, integrations, unthread, stopping, handled)
    _close_on_shutdown(app, agent, vitally, unthread)
    _serve_web(app, settings, agent, integrations, counts, walks, clock)
    return app


def _outputs(
    app: faust.App, settings: Settings, partitions: int, metrics: Metrics,
    deliveries: Deliveries, summary: SummaryWriter,
) -> KafkaOutputs:  # fmt: skip
    """Where audit records and dead letters go."""
    return KafkaOutputs(
        _raw_topic(app, settings.audit_topic, partitions=partitions),
        _raw_topic(app, settings.dlq_topic, partitions=partitions),
        metrics, deliveries, summary, max_record_bytes=app.conf.producer_max_request_size,
    )  # fmt: skip


def _stopping(app: faust.App) -> Callable[[], bool]:
    def stopping() -> bool:
        # Both are set at once: by a SIGTERM, and by the consumer's rebalance callback, which
        # runs before Faust waits for in-flight events (its revoke signal comes after that).
        return bool(app.should_stop) or app.rebalancing

    return stopping


def _vitally_and_health(
    settings: Settings, clock: Clock, index: ParkedIndex, integrations: IntegrationStore,
    metrics: Metrics, stopping: Callable[[], bool],
) -> tuple[VitallyClient, VitallyHealth]:  # fmt: skip
    """The Vitally client, and what tells from its answers whether a tenant's Vitally is up
    (probing a down one with a one-user read through that same client)."""

    async def probe(tenant_id: str) -> None:
        tenant = integrations.tenant(tenant_id)
        if tenant is not None and not integrations.needs_attention(tenant_id):
            await vitally.list_users(tenant.target, limit=1)

    health = VitallyHealth(
        index=index, probe=probe, clock=clock.monotonic,
        batch=settings.max_in_flight_per_tenant, stopping=stopping,
    )  # fmt: skip
    vitally = _vitally_client(settings, clock, observer=Observers(metrics.vitally, health))
    return vitally, health


def _serve_web(
    app: faust.App, settings: Settings, agent: SyncAgent, integrations: IntegrationStore,
    counts: SummaryCounts, walks: WalkStore, clock: Clock,
) -> None:  # fmt: skip
    """The probes and the tenant API, and the static membership they report on."""
    register_views(
        app, integrations=integrations, fenced=lambda: MEMBERSHIP.fenced_as,
        liveness=_liveness(app, settings, agent, clock),
    )  # fmt: skip
    _watch_membership(app, settings)
    register_tenant_api(app, settings, integrations=integrations, counts=counts, walks=walks)


def _tables(app: faust.App, partitions: int) -> tuple[Any, Any]:
    """The conversations table, and the waiting table: a conversation's waiting events, one
    entry each (streams.waiting), so parking the n-th event of a thread writes that event,
    never the thread."""
    conversations = _raw_table(
        app, "conversations", partitions, "Vitally ids and routing per Unthread conversation"
    )
    waiting = _raw_table(
        app, "waiting", partitions,
        "Events waiting per conversation, one per entry, and where each input record waits",
    )  # fmt: skip
    return conversations, waiting


def _raw_table(app: faust.App, name: str, partitions: int, help: str) -> Any:
    # bytes means "raw" to Faust tables, for the changelog and for recovery alike.
    return app.Table(
        name, default=None, partitions=partitions, help=help, key_type=bytes, value_type=bytes
    )


def _liveness(app: faust.App, settings: Settings, agent: SyncAgent, clock: Clock) -> Liveness:
    liveness = Liveness(
        monotonic=clock.monotonic,
        lag=agent.lag,
        progress=agent.progress,
        settled=agent.settled,
        progress_stall_s=settings.liveness_stall_seconds,
    )

    async def tick() -> None:
        liveness.tick()

    app.timer(interval=TICK_S)(tick)
    return liveness


def _audit_summary(
    app: faust.App, settings: Settings, clock: Clock
) -> tuple[SummaryCounts, SummaryWriter]:
    """The sync counts: read from the summary topic for every tenant, and counted (then
    published) for the input partitions this worker owns (integrations/audit_summary.py)."""
    topic = _raw_topic(app, settings.audit_summary_topic)
    counts = SummaryCounts(kafka=settings, topic=settings.audit_summary_topic)

    async def publish(key: bytes, value: bytes) -> None:
        sent = await topic.send(key=key, value=value)
        # On the broker before the partition's next owner reads it; bounded, as a revoke
        # waits for it (SummaryWriter logs a failure and tries again later).
        await asyncio.wait_for(sent, timeout=settings.http_timeout_seconds)

    summary = SummaryWriter(publish, now_ms=lambda: epoch_ms(clock))
    adopting: set[asyncio.Task[None]] = set()

    async def adopt(partitions: set[int]) -> None:
        await counts.read_to_end()  # past the previous owners' last values
        for partition in partitions:
            summary.adopt(partition, counts.of_partition(partition))

    def mine(tps: set[TP]) -> set[int]:
        return {tp.partition for tp in tps if tp.topic == settings.input_topic}

    async def on_assigned(app: faust.App, assigned: set[TP], **kwargs: Any) -> None:
        summary.begin(mine(assigned))
        task = asyncio.ensure_future(adopt(mine(assigned)))
        adopting.add(task)
        task.add_done_callback(adopting.discard)

    async def on_revoked(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
        await summary.release(mine(revoked))

    on_signal(app.on_partitions_assigned, on_assigned)
    on_signal(app.on_partitions_revoked, on_revoked)
    app.timer(interval=settings.audit_summary_interval_seconds)(summary.publish)
    app.task(counts.run)
    return counts, summary


def _source_sync(
    app: faust.App,
    settings: Settings,
    partitions: int,
    integrations: IntegrationStore,
    unthread: UnthreadClient,
    stopping: Callable[[], bool],
    handled: HandledOffsets,
) -> WalkStore:
    """Imports and reconciliation (streams/source_sync.py): their progress store, the task
    that runs them, and the partition ownership that picks the one worker running each."""
    walks = WalkStore(kafka=settings, topic=settings.source_walks_topic)
    input_topic = _raw_topic(app, settings.input_topic, partitions=partitions)
    progress_topic = _raw_topic(app, settings.source_walks_topic)

    async def send(key: bytes, value: bytes, partition: int) -> int:
        sent = await (await input_topic.send(key=key, value=value, partition=partition))
        return int(sent.offset)

    async def publish(progress: WalkProgress) -> None:
        key = WalkProgress.key(progress.tenant_id, progress.kind)
        await (await progress_topic.send(key=key, value=progress.to_json(), partition=0))

    def local(partition: int) -> int | None:
        mine = partition in sync.owned
        return handled.next_offset(TP(settings.input_topic, partition)) if mine else None

    progress = InputProgress(
        kafka=settings, group=settings.app_id, topic=settings.input_topic,
        partitions=partitions, local=local,
    )  # fmt: skip
    sync = SourceSync(
        integrations=integrations, walks=walks, unthread=unthread, send=send,
        # Where the conversation's webhook events are: its order and its table state.
        partition_of=lambda key: partition_for(key, partitions, settings.input_partitioner),
        handled=progress.handled, max_outstanding=settings.source_walk_max_outstanding,
        publish=publish, partitions=partitions, now=lambda: datetime.now(UTC), stopping=stopping,
    )  # fmt: skip

    async def on_assigned(app: faust.App, assigned: set[TP], **kwargs: Any) -> None:
        sync.owned |= {tp.partition for tp in assigned if tp.topic == settings.input_topic}

    async def on_revoked(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
        sync.owned -= {tp.partition for tp in revoked if tp.topic == settings.input_topic}

    on_signal(app.on_partitions_assigned, on_assigned)
    on_signal(app.on_partitions_revoked, on_revoked)
    app.task(walks.run)
    app.task(sync.run)
    return walks


def _unthread_client(settings: Settings, observer: CallObserver) -> UnthreadClient:
    return UnthreadClient(
        build_unthread_http_client(timeout=settings.http_timeout_seconds),
        limiter=default_unthread_limiter(settings.source_walk_budget_share),
        observer=observer,
        # The handler retries whole events; a lookup the budget would hold long parks one.
        retry=NO_RETRY,
        max_budget_wait=settings.retry_max_delay_seconds,
    )


def _unthread_lookup(settings: Settings, unthread: UnthreadClient) -> CachedUnthreadLookup:
    return CachedUnthreadLookup(
        unthread,
        ttl=settings.lookup_cache_ttl_seconds,
        miss_ttl=settings.lookup_miss_ttl_seconds,
        max_entries=settings.lookup_cache_max_entries,
    )


def _recover_tenants(app: faust.App, health: VitallyHealth, agent: SyncAgent) -> None:
    """Each second: probe the tenants whose Vitally is down; wake what waits for them."""

    async def recover_tenants() -> None:
        if health.tick():
            await agent.wake_parked()  # the woken conversations' retry records, now

    app.timer(interval=1.0)(recover_tenants)


def _close_on_shutdown(
    app: faust.App, agent: SyncAgent, vitally: VitallyClient, unthread: UnthreadClient
) -> None:
    async def close_clients(app: faust.App, **kwargs: Any) -> None:
        agent.close()
        await vitally.aclose()
        await unthread.aclose()

    on_signal(app.on_before_shutdown, close_clients)


def _directory(
    settings: Settings, vitally: VitallyClient, clock: Clock, stopping: Callable[[], bool]
) -> CachedDirectory:
    return CachedDirectory(
        vitally,
        ttl=settings.lookup_cache_ttl_seconds,
        miss_ttl=settings.lookup_miss_ttl_seconds,
        max_entries=settings.lookup_cache_max_entries,
        # A write that got no answer may land for as long as a call may take.
        conversations=ConversationIndex(
            vitally, clock=clock, settle_s=settings.http_timeout_seconds, stopping=stopping
        ),
    )


def _retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.retry_attempts,
        base_delay=settings.retry_base_delay_seconds,
        max_delay=settings.retry_max_delay_seconds,
    )


def _parking_policy(settings: Settings) -> ParkingPolicy:
    return ParkingPolicy(
        min_delay_s=settings.park_min_delay_seconds,
        max_delay_s=settings.park_max_delay_seconds,
        transient_max_delay_s=settings.park_transient_max_delay_seconds,
        people_window_s=settings.park_people_window_seconds,
        attention_window_s=settings.park_attention_window_seconds,
        create_window_s=settings.park_create_window_seconds,
    )


def _prune_policy(app: faust.App, settings: Settings, layout: TopicLayout) -> PrunePolicy:
    policy = PrunePolicy.of(
        after_days=settings.state_prune_after_days,
        retention_ms=layout.input_retention_ms,
        segment_ms=layout.input_segment_ms,
    )
    if policy.after_ms is None and settings.state_prune_after_days > 0:

        async def never_pruned() -> None:  # once the worker's logging is set up
            log.warning(
                "finished conversations are never pruned: %s keeps records forever, or its "
                "retention could not be read", settings.input_topic,
            )  # fmt: skip

        app.task(never_pruned)
    return policy


def _agent_config(settings: Settings) -> AgentConfig:
    return AgentConfig(
        kafka=settings,
        group_id=settings.app_id,
        input_topic=settings.input_topic,
        retry_topic=settings.retry_topic,
        max_in_flight=settings.max_in_flight,
        max_in_flight_per_partition=settings.max_in_flight_per_partition,
    )


def _serve_metrics(
    app: faust.App,
    metrics: Metrics,
    agent: SyncAgent,
    index: ParkedIndex,
    integrations: IntegrationStore,
    clock: Clock,
) -> None:
    metrics.watch(
        Readings(
            parked_by_reason=index.by_reason,
            waiting_age_by_reason=lambda: index.waiting_ages(epoch_ms(clock)),
            in_flight=lambda: agent.in_flight,
            lag=agent.lag,
            lag_seconds=agent.lag_seconds,
            integrations_by_status=integrations.by_status,
        )
    )
    serve_metrics(app, metrics.registry)


def _watch_membership(app: faust.App, settings: Settings) -> None:
    """Static membership: leave the group on shutdown (if so set); stop when fenced; end a
    stop that hangs."""
    install_membership()
    MEMBERSHIP.leave_on_close = settings.leave_group_on_shutdown and bool(settings.worker_id)

    def fenced(worker_id: str) -> None:
        log.critical(
            "fenced by Kafka: another worker joined group %s with WORKER_ID=%s; this one "
            "stops (/ready answers 503). Give every worker its own WORKER_ID.",
            settings.app_id, worker_id,
        )  # fmt: skip
        crashing.add(asyncio.ensure_future(stop(worker_id)))

    async def stop(worker_id: str) -> None:
        # Its consumer is out of the group already; a moment for probes to see why.
        await asyncio.sleep(FENCED_EXIT_DELAY_S)
        await app.crash(WorkerFenced(worker_id))

    crashing: set[asyncio.Future[None]] = set()

    async def listen() -> None:
        MEMBERSHIP.on_fenced(fenced)

    app.task(listen)

    # A stop that hangs (Faust, SIGTERM during an assignment) ends the process: past the
    # calls in flight, their commit and the leave, nothing is worth waiting for.
    deadline = ShutdownDeadline(
        lambda: bool(app.should_stop), settings.http_timeout_seconds + SHUTDOWN_MARGIN_S
    )

    async def watch_shutdown() -> None:
        deadline.start()

    app.task(watch_shutdown)
    # ...and a SIGTERM during a rebalance waits for it (that is where Faust's stop hangs).
    install_stop(max_wait_s=settings.http_timeout_seconds)


class WorkerFenced(RuntimeError):
    """Kafka fenced this worker: another runs with its WORKER_ID."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(f"fenced: another worker runs with WORKER_ID={worker_id}")


def _raw_topic(app: faust.App, *names: str, partitions: int | None = None) -> faust.TopicT:
    """Bytes in, bytes out: every value is parsed (and validated) by our own schemas."""
    return app.topic(*names, partitions=partitions, key_serializer="raw", value_serializer="raw")


def _faust_app(settings: Settings, layout: TopicLayout) -> faust.App:
    # Every option Faust uses is given here; it reads none from the environment.
    return sealed_app(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        broker_credentials=faust_credentials(settings),
        store=settings.store,
        datadir=settings.data_dir,
        table_standby_replicas=settings.table_standby_replicas,
        topic_partitions=layout.input_partitions,
        topic_replication_factor=layout.replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=settings.commit_interval_seconds,
        # Static membership and the group's timeouts (streams/identity.py, README Operations).
        consumer_group_instance_id=settings.worker_id or None,
        broker_session_timeout=settings.kafka_session_timeout_seconds,
        broker_heartbeat_interval=settings.kafka_heartbeat_interval_seconds,
        broker_rebalance_timeout=settings.kafka_rebalance_timeout_seconds,
        producer_acks=-1,
        # Set, not inherited: what the worker writes is measured against it (kafka_limits).
        producer_max_request_size=PRODUCER_MAX_REQUEST_BYTES,
        # Faust binds to web_bind; web_host is only the name in its canonical URL.
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_ssl_context=settings.web_ssl_context(),
        web_in_thread=False,
        autodiscover=False,
        # Its changes can be awaited: a record is acked only once they are in the changelog.
        Table=ChangelogTable,
        logging_config=logging_config(settings.log_format),
        PartitionAssignor=StaticMemberAssignor,
    )


def _register_agent(
    app: faust.App, agent: SyncAgent, source: faust.TopicT, park_scan_interval: float
) -> None:
    """The agent, its two timers and its rebalance hooks, on the app."""

    @app.agent(source)
    async def sync(stream: StreamT[bytes]) -> None:
        await agent.run(stream)

    app.timer(interval=park_scan_interval)(agent.wake_parked)
    app.timer(interval=1.0)(agent.find_vanished_records)

    async def on_revoked(app: faust.App, revoked: set[TP], **kwargs: Any) -> None:
        await agent.on_revoked(revoked)

    async def on_assigned(app: faust.App, assigned: set[TP], **kwargs: Any) -> None:
        await agent.on_assigned(assigned)

    on_signal(app.on_partitions_revoked, on_revoked)
    on_signal(app.on_partitions_assigned, on_assigned)


def _integration_store(app: faust.App, settings: Settings, index: ParkedIndex) -> IntegrationStore:
    """Every worker's view of the tenants, read whole from the integrations topic and then
    followed by a task of the app."""
    store = IntegrationStore(
        kafka=settings,
        topic=settings.integrations_topic,
        box=SecretBox(settings.secrets_key.get_secret_value()),
        base_url_override=settings.vitally_base_url,
        unthread_base_url=settings.unthread_base_url,
        # The API's publisher: partition 0, durable before anyone is told it happened.
        publish=faust_publisher(app, settings.integrations_topic),
        on_reconnect=index.wake_tenant,
        on_recheck=index.wake_tenant,
    )
    app.task(store.run)
    return store


def _vitally_client(settings: Settings, clock: Clock, observer: CallObserver) -> VitallyClient:
    return VitallyClient(
        build_http_client(
            timeout=settings.http_timeout_seconds,
            max_connections=settings.http_max_connections,
        ),
        limiter=TenantRateLimiter(
            share=settings.vitally_rate_limit_share,
            clock=clock.monotonic,
            background_share=settings.source_walk_budget_share,
        ),  # fmt: skip
        # The handler is the one place that retries (whole events, with parking after).
        retry=NO_RETRY,
        max_concurrent=settings.http_max_connections,
        # Longer than the longest in-line wait, an event parks instead (see the handler).
        max_budget_wait=settings.retry_max_delay_seconds,
        observer=observer,
        monotonic=clock.monotonic,
    )
