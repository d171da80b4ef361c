"""The configuration: frozen, typed objects read from the environment once. Kafka's
connection (:class:`~integrations.kafka_config.KafkaSettings`) < what every command needs
(:class:`ClientSettings`) < the worker's (:class:`Settings`): a command asks for no more.

Every variable, its default and bounds are listed in docs/interfaces.md (Environment),
generated from these fields' descriptions (``python -m streams.doc_tables``). The
names others set (KAFKA_BOOTSTRAP_SERVERS, VITALLY_BASE_URL, ADMIN_API_TOKEN, SECRETS_KEY) are
fixed; the rest are ours, with defaults that suit one worker on a laptop.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from integrations.kafka_config import KafkaSettings
from schemas.kafka_limits import PRODUCER_MAX_REQUEST_BYTES, largest_copyable_event
from schemas.partitioning import Partitioner
from streams.identity import default_worker_id
from streams.logs import LogFormat


def default_data_dir() -> str:
    """``$XDG_STATE_HOME/vitally-sync`` (``~/.local/state/vitally-sync``): absolute, so the
    worker finds the same directory from any working directory."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return str(Path(state) / "vitally-sync")


class ClientSettings(KafkaSettings):
    """What every command needs: Kafka (:mod:`integrations.kafka_config`), the consumer group
    and the topics. No secrets: read-only commands run with this alone."""

    # hide_input_in_errors: a too-short ADMIN_API_TOKEN must not be echoed into the start-up log.
    model_config = SettingsConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    vitally_base_url: str | None = Field(
        None,
        description="when set, every tenant's Vitally calls go to this base URL, whatever its "
        "subdomain and region (the sandbox, tests)",
    )
    unthread_base_url: str | None = Field(
        None,
        description="when set, every tenant's Unthread calls, and the check of an "
        "`unthreadApiKey` at connect, go to this base URL (the Unthread sandbox, tests)",
        json_schema_extra={"shown_default": "unset (`https://api.unthread.io/api`)"},
    )
    app_id: str = Field(
        "vitally-sync",
        description="Faust app id: the consumer group and the prefix of Faust's internal topics",
    )
    input_topic: str = Field("unthread.conversation-events", description="input")
    audit_topic: str = Field("vitally-sync.audit", description="audit records")
    dlq_topic: str = Field("vitally-sync.dlq", description="dead letters")
    integrations_topic: str = Field(
        "vitally-sync.integrations", description="tenants' connections (compacted)"
    )
    source_walks_topic: str = Field(
        "vitally-sync.source-walks",
        description="progress of each tenant's import and reconciliation from Unthread's API "
        "(compacted)",
    )
    retry_topic: str = Field(
        "vitally-sync.retry",
        description="wakes parked conversations; same partition count as the input",
    )
    audit_summary_topic: str = Field(
        "vitally-sync.audit-summary",
        description="per tenant and input partition, the latest sync counts (compacted)",
    )
    topic_partitions: int = Field(
        default=8,
        ge=1,
        description="partitions of an input topic the worker has to create; an existing input "
        "topic is used with the count it has, and the audit, DLQ and retry topics are created "
        "with that count",
    )
    topic_replication_factor: int = Field(
        default=-1,
        ge=-1,
        description="replication of the topics the worker creates (and of Faust's changelog); "
        "`-1` takes the broker's `default.replication.factor` (read from the broker for the "
        "changelog); not 0",
    )
    http_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=30,
        description="deadline of one Vitally (or Unthread) call, start to end, below "
        "`KAFKA_REBALANCE_TIMEOUT_SECONDS`; also how long a write that got no answer is assumed "
        "to be still landing; a stop still running this + 10 s after SIGTERM ends the process "
        "(exit 70)",
    )

    @field_validator("topic_replication_factor")
    @classmethod
    def _replication(cls, value: int) -> int:
        if value == 0:
            raise ValueError("TOPIC_REPLICATION_FACTOR must be at least 1, or -1 (broker default)")
        return value


class Settings(ClientSettings):
    """The worker's settings: everything a command needs, and what only the worker needs."""

    # A short bearer token is guessable; an empty one would let "Bearer " through.
    admin_api_token: SecretStr = Field(
        min_length=16, description="the HTTP API's bearer token (worker only)"
    )
    secrets_key: SecretStr = Field(
        description="comma-separated Fernet keys, newest first: the first encrypts tenants' API "
        "keys, any of them decrypts (the worker, `connect`, `rotate-secrets`)"
    )

    web_host: str = Field(
        "0.0.0.0",  # noqa: S104 - the worker's HTTP API is meant to be reachable
        description="HTTP bind address",
    )
    web_port: int = Field(
        6066,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("web_port", "port"),
        description="HTTP port: the tenant API, the probes and `/metrics`; `PORT` (set by "
        "platforms that route HTTP to one port, such as Heroku's `web` dynos) when "
        "`WEB_PORT` is not set",
    )
    web_ssl_cert: str | None = Field(
        None,
        description="PEM certificate (chain) file: with `WEB_SSL_KEY`, the HTTP API is served "
        "over TLS itself (both or neither)",
    )
    web_ssl_key: str | None = Field(None, description="PEM private key file of `WEB_SSL_CERT`")
    # The HTTP API's bodies are a few short strings; anything much larger is refused (413).
    max_request_bytes: int = Field(
        default=16_384,
        ge=1024,
        le=1_048_576,
        description="larger request bodies are refused (413)",
    )
    store: str = Field(
        "memory://",
        description="Faust's table store URL: `memory://` rebuilds the tables from their "
        "changelogs at every start; `rocksdb://` keeps them in `DATA_DIR` and reads only the "
        "changelog written since (its driver is installed)",
    )
    data_dir: str = Field(
        default_factory=default_data_dir,
        description="Faust's data directory, created with its parents; absolute by default, so "
        "the worker starts from any working directory (the image sets `/var/lib/vitally-sync`)",
        json_schema_extra={
            "shown_default": "`$XDG_STATE_HOME/vitally-sync`, else `~/.local/state/vitally-sync`"
        },
    )
    table_standby_replicas: int = Field(
        default=0,
        ge=0,
        description="copies of other workers' table partitions each worker keeps up to date, "
        "for a faster take-over when a worker is gone for good; each costs its partitions' "
        "memory (or disk) and changelog reads. 0: a static member gets its own partitions "
        "back, recovered from `DATA_DIR` (Faust's own default was 1)",
    )
    state_prune_after_days: float = Field(
        default=30.0,
        ge=0,
        description="a finished conversation's entry (deleted or closed, nothing waiting) is "
        "forgotten once untouched this long, and never before the input topic's `retention.ms` "
        "+ `segment.ms` (streams/pruning.py); 0: never",
    )
    state_prune_interval_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="how often the table is scanned for finished conversations to prune",
    )
    # JSON lines when stdout is not a terminal (deploys), text on a terminal (streams/logs.py).
    log_format: LogFormat = Field(
        "auto",
        description="JSON lines unless standard output is a terminal (`auto`); Faust's "
        "banner is left out with JSON",
    )

    max_in_flight: int = Field(
        default=256,
        ge=1,
        description="events admitted at once per worker; beyond it, backpressure into Kafka",
    )
    max_in_flight_per_partition: int = Field(
        default=64,
        ge=2,
        description="past it, the partition's fetching pauses (resumes at half) so other "
        "partitions keep flowing",
    )
    # Beyond this many events of one tenant at once, its further events are parked briefly.
    max_in_flight_per_tenant: int = Field(
        default=32,
        ge=1,
        description="past it, a tenant's further events park for about a second "
        "(`tenant_backlogged`)",
    )
    lookup_cache_max_entries: int = Field(
        default=100_000, ge=100, description="size of the email look-up cache"
    )
    # Unthread messages are small; this bounds what one parked conversation can hold.
    max_event_bytes: int = Field(
        default=256_000,
        ge=1024,
        description="larger records are `oversized` (DLQ); at most 996416, so that a DLQ copy "
        "with its key and headers fits the 1,000,000-byte request limit every producer of the "
        "service is given (checked at start)",
    )
    input_partitioner: Partitioner = Field(
        "murmur2",
        description="how the upstream producer partitions the input topic by key (`murmur2`, "
        "Java clients' default; `crc32`, librdkafka's `consistent_random`): the events the "
        "worker makes from Unthread's API (import, reconcile) go to their conversation's "
        "partition, so a wrong value breaks their order and idempotency",
    )
    commit_interval_seconds: float = Field(
        default=1.0, gt=0, description="how often Faust commits the handled offsets"
    )

    http_max_connections: int = Field(
        default=100,
        ge=1,
        description="Vitally requests in flight per worker, and the connection pool's size; "
        "more are needed at high Vitally latency",
    )
    vitally_rate_limit_share: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="this worker's share of each tenant's Vitally request budget (1,000 a minute)",
    )
    source_walk_budget_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="the most of each tenant's Vitally and Unthread request budgets that its "
        "import and reconciliation may use (their Unthread list calls, and the Vitally and "
        "Unthread calls of the events they produce); live events' calls always go first and "
        "keep the rest, and all of it while no walk runs",
    )
    source_walk_max_outstanding: int = Field(
        default=16,
        ge=1,
        description="events a tenant's import or reconciliation may have produced that the "
        "workers have not finished yet; the walk waits past it, so live events never queue "
        "behind more than this many of its events (keep it below `MAX_IN_FLIGHT_PER_TENANT`)",
    )
    retry_attempts: int = Field(
        default=5, ge=1, description="tries of an event in line before it parks"
    )
    retry_base_delay_seconds: float = Field(
        default=0.5, ge=0, description="first in-line backoff, doubled each try"
    )
    retry_max_delay_seconds: float = Field(
        default=8.0,
        ge=0,
        description="longest in-line wait, for a backoff, for Vitally's advice or for the "
        "tenant's budget; a longer one parks the event instead",
    )

    park_min_delay_seconds: float = Field(
        default=60.0,
        gt=0,
        description="first re-check of a parked event, doubled each time (up to 20% random "
        "extra, so conversations parked together do not all wake together)",
    )
    park_max_delay_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="longest re-check interval for the other reasons (missing people)",
    )
    park_transient_max_delay_seconds: float = Field(
        default=300.0,
        gt=0,
        description="longest re-check interval for `vitally_unavailable` and "
        "`vitally_rate_limited` (they are woken as soon as the tenant's Vitally answers)",
    )
    # How long a customer or teammate missing from Vitally is waited for, then skipped.
    park_people_window_seconds: float = Field(
        default=7 * 24 * 3600.0,
        gt=0,
        description="how long (7 days) a customer or teammate missing from Vitally is waited "
        "for; then `skipped`",
    )
    park_attention_window_seconds: float = Field(
        default=14 * 24 * 3600.0,
        gt=0,
        description="how long (14 days) the events of a tenant that needs attention (a rejected "
        "or undecryptable key) wait for a reconnect or a re-check; then "
        "`skipped/needs_attention_expired` (replayable)",
    )
    park_create_window_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="how long a follow-up, update or delete that arrives before its "
        "conversation's create waits for it (`waiting_for_create`); then "
        "`skipped/conversation_not_synced` (replayable)",
    )
    park_scan_interval_seconds: float = Field(
        default=2.0, gt=0, description="how often the timer looks for due parked conversations"
    )
    audit_summary_interval_seconds: float = Field(
        default=15.0,
        gt=0,
        le=600,
        description="how often a worker publishes the sync counts that changed "
        "(the tenant GET's counts are at most this far behind)",
    )

    lookup_cache_ttl_seconds: float = Field(
        default=600.0, gt=0, description="how long a found Vitally user or admin is cached"
    )
    lookup_miss_ttl_seconds: float = Field(
        default=60.0, gt=0, description='how long "no such person" is cached'
    )

    # Kafka group membership (README "Operations": what a crash, a deploy, a scale-out cost).
    # Static membership id; empty turns it off (streams/identity.py).
    worker_id: str = Field(
        default_factory=default_worker_id,
        max_length=249,
        description="static group membership (`group.instance.id`): a worker restarted under "
        "its id within the session timeout gets its partitions back without a rebalance; must "
        "be unique per running worker (a duplicate is fenced: `/ready` 503, exit 1); empty "
        "turns static membership off",
        json_schema_extra={
            "shown_default": "`$DYNO`, else `$POD_NAME`, else `$HOSTNAME`, else the host name"
        },
    )
    # A worker that dies without a restart is replaced after about session + one heartbeat;
    # the others notice a join or a leave (and start the rebalance) within one heartbeat.
    kafka_session_timeout_seconds: float = Field(
        default=10.0,
        ge=6,
        le=90,
        description="a worker that stops heartbeating is replaced after about this plus one "
        "heartbeat",
    )
    kafka_heartbeat_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        description="how soon a join or a leave is noticed and the rebalance starts; at most a "
        "third of the session timeout",
    )
    # How long a rebalance waits for every member to rejoin; a member rejoins once its calls
    # in flight have ended, so it must exceed HTTP_TIMEOUT_SECONDS.
    kafka_rebalance_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=300,
        description="how long a rebalance waits for every member to rejoin (each first ends "
        "its calls in flight); above `HTTP_TIMEOUT_SECONDS`",
    )
    # Off by default: a restart under the same id then costs no rebalance at all (README
    # Operations, BENCHMARKS.md Availability).
    leave_group_on_shutdown: bool = Field(
        False,
        description="`true`: on SIGTERM a static member leaves the group once its work in "
        "flight is committed, so the others take over at once (two rebalances per restarted "
        "worker; for platforms that give a replacement a new name); `false`: they wait for a "
        "worker with its `WORKER_ID`, at most the session timeout",
    )

    liveness_stall_seconds: float = Field(
        default=300.0,
        ge=60,
        description="`/live` fails when records wait on this worker's partitions and none was "
        "finished for this long outside a rebalance (an event ends, parked at worst, within "
        "its in-line retries: about a minute by default)",
    )

    @field_validator("max_event_bytes")
    @classmethod
    def _event_fits_a_request(cls, value: int) -> int:
        # A record the worker accepts must fit, copied whole with its headers, in one of the
        # worker's own produce requests (schemas/kafka_limits.py).
        if value > largest_copyable_event():
            raise ValueError(
                f"at most {largest_copyable_event()} bytes, so that a copy with its key and "
                f"headers fits the producer's {PRODUCER_MAX_REQUEST_BYTES}-byte request limit"
            )
        return value

    @model_validator(mode="after")
    def _web_tls_pair(self) -> Self:
        if bool(self.web_ssl_cert) != bool(self.web_ssl_key):
            raise ValueError("WEB_SSL_CERT and WEB_SSL_KEY go together")
        return self

    def web_ssl_context(self) -> ssl.SSLContext | None:
        """The HTTP API's TLS context, or None to serve plain HTTP (behind a TLS proxy)."""
        if not (self.web_ssl_cert and self.web_ssl_key):
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.web_ssl_cert, self.web_ssl_key)
        return context

    @model_validator(mode="after")
    def _group_timeouts(self) -> Self:
        if self.kafka_heartbeat_interval_seconds * 3 > self.kafka_session_timeout_seconds:
            raise ValueError(
                "KAFKA_HEARTBEAT_INTERVAL_SECONDS must be at most a third of "
                "KAFKA_SESSION_TIMEOUT_SECONDS"
            )
        if self.http_timeout_seconds >= self.kafka_rebalance_timeout_seconds:
            raise ValueError(
                "HTTP_TIMEOUT_SECONDS must stay below KAFKA_REBALANCE_TIMEOUT_SECONDS: a "
                "rebalance waits for the Vitally calls in flight"
            )
        return self
