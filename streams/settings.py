"""The configuration: frozen, typed objects read from the environment once. Kafka's
connection (:class:`~integrations.kafka_config.KafkaSettings`) < what every command needs
(:class:`ClientSettings`) < the worker's (:class:`Settings`): a command asks for no more.

Every variable, its default and bounds are listed in docs/interfaces.md (Environment). The
names others set (KAFKA_BOOTSTRAP_SERVERS, VITALLY_BASE_URL, ADMIN_API_TOKEN, SECRETS_KEY) are
fixed; the rest are ours, with defaults that suit one worker on a laptop.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
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

    vitally_base_url: str | None = None
    # Every tenant's Unthread calls go here instead of Unthread's API (the sandbox, tests).
    unthread_base_url: str | None = None
    app_id: str = "vitally-sync"
    input_topic: str = "unthread.conversation-events"
    audit_topic: str = "vitally-sync.audit"
    dlq_topic: str = "vitally-sync.dlq"
    integrations_topic: str = "vitally-sync.integrations"
    # Ours, compacted: progress of each tenant's import and reconciliation (streams/source_sync.py).
    source_walks_topic: str = "vitally-sync.source-walks"
    # Ours: records that wake parked conversations, co-partitioned with the input topic.
    retry_topic: str = "vitally-sync.retry"
    # Used only when the worker has to create the input topic; an existing one is taken as is.
    topic_partitions: int = Field(default=8, ge=1)
    # -1: the broker's default.replication.factor, for our topics and Faust's changelogs alike.
    topic_replication_factor: int = Field(default=-1, ge=-1)
    http_timeout_seconds: float = Field(default=10.0, gt=0, le=30)

    @field_validator("topic_replication_factor")
    @classmethod
    def _replication(cls, value: int) -> int:
        if value == 0:
            raise ValueError("TOPIC_REPLICATION_FACTOR must be at least 1, or -1 (broker default)")
        return value


class Settings(ClientSettings):
    """The worker's settings: everything a command needs, and what only the worker needs."""

    # A short bearer token is guessable; an empty one would let "Bearer " through.
    admin_api_token: SecretStr = Field(min_length=16)
    secrets_key: SecretStr

    web_host: str = "0.0.0.0"  # noqa: S104 - the worker's HTTP API is meant to be reachable
    web_port: int = 6066
    # PEM certificate (chain) and key: with both, the HTTP API is served over TLS itself.
    web_ssl_cert: str | None = None
    web_ssl_key: str | None = None
    # The HTTP API's bodies are a few short strings; anything much larger is refused (413).
    max_request_bytes: int = Field(default=16_384, ge=1024, le=1_048_576)
    store: str = "memory://"
    data_dir: str = Field(default_factory=default_data_dir)
    # JSON lines when stdout is not a terminal (deploys), text on a terminal (streams/logs.py).
    log_format: LogFormat = "auto"

    max_in_flight: int = Field(default=256, ge=1)
    max_in_flight_per_partition: int = Field(default=64, ge=2)
    # Beyond this many events of one tenant at once, its further events are parked briefly.
    max_in_flight_per_tenant: int = Field(default=32, ge=1)
    lookup_cache_max_entries: int = Field(default=100_000, ge=100)
    # Unthread messages are small; this bounds what one parked conversation can hold.
    max_event_bytes: int = Field(default=256_000, ge=1024)
    # How the upstream producer partitions the input topic by key: events the worker makes
    # from Unthread's API (import, reconcile) must reach their conversation's partition.
    input_partitioner: Partitioner = "murmur2"
    commit_interval_seconds: float = Field(default=1.0, gt=0)

    http_max_connections: int = Field(default=100, ge=1)
    vitally_rate_limit_share: float = Field(default=1.0, gt=0, le=1)
    retry_attempts: int = Field(default=5, ge=1)
    retry_base_delay_seconds: float = Field(default=0.5, ge=0)
    retry_max_delay_seconds: float = Field(default=8.0, ge=0)

    park_min_delay_seconds: float = Field(default=60.0, gt=0)
    park_max_delay_seconds: float = Field(default=3600.0, gt=0)
    park_transient_max_delay_seconds: float = Field(default=300.0, gt=0)
    # How long a customer or teammate missing from Vitally is waited for, then skipped.
    park_people_window_seconds: float = Field(default=7 * 24 * 3600.0, gt=0)
    park_scan_interval_seconds: float = Field(default=2.0, gt=0)

    lookup_cache_ttl_seconds: float = Field(default=600.0, gt=0)
    lookup_miss_ttl_seconds: float = Field(default=60.0, gt=0)

    # Kafka group membership (README "Operations": what a crash, a deploy, a scale-out cost).
    # Static membership id; empty turns it off (streams/identity.py).
    worker_id: str = Field(default_factory=default_worker_id, max_length=249)
    # A worker that dies without a restart is replaced after about session + one heartbeat;
    # the others notice a join or a leave (and start the rebalance) within one heartbeat.
    kafka_session_timeout_seconds: float = Field(default=10.0, ge=6, le=90)
    kafka_heartbeat_interval_seconds: float = Field(default=1.0, gt=0)
    # How long a rebalance waits for every member to rejoin; a member rejoins once its calls
    # in flight have ended, so it must exceed HTTP_TIMEOUT_SECONDS.
    kafka_rebalance_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # On SIGTERM leave the group (static members do not by default): the others take the
    # partitions over at once instead of waiting for this WORKER_ID to come back (at most the
    # session timeout). Off by default: a restart under the same id then costs no rebalance
    # at all (README Operations, BENCHMARKS.md Availability).
    leave_group_on_shutdown: bool = False

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
