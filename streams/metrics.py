"""The worker's metrics on ``GET /metrics`` (Prometheus text format, no token, like ``/ready``).

Faust's own sensors (messages, commits, offsets per partition, rebalances, table operations)
and ours, on one registry per app. No label carries a tenant, an email or any text from an
event: the label values are fixed sets (outcomes, reasons, status classes, integration states)
or the service's own topics, partitions and endpoint templates, so the number of series is
bounded however many tenants there are. docs/interfaces.md lists them as scraped (generated
from this registry by streams/doc_tables.py); README's "Alerts worth setting" says what to
watch; deploy/ holds alert rules and a dashboard on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from schemas.audit import AuditRecord

# Vitally answers in tens of milliseconds to seconds; the call deadline is 10 s by default.
_CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_WAIT_BUCKETS = (0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 4.0, 8.0, 30.0)


@dataclass(frozen=True)
class Readings:
    """Where the gauges read the worker's state at scrape time."""

    parked_by_reason: Callable[[], Mapping[str, int]]
    # Seconds the oldest waiting event of each reason has waited (since it was first parked).
    waiting_age_by_reason: Callable[[], Mapping[str, float]]
    in_flight: Callable[[], int]
    lag: Callable[[], Mapping[tuple[str, int], int]]
    lag_seconds: Callable[[], Mapping[tuple[str, int], float]]
    integrations_by_status: Callable[[], Mapping[str, int]]


@dataclass(frozen=True)
class ApiMetricNames:
    """The names of one API's call metrics (counters without the ``_total`` they are exposed
    with, which prometheus_client adds)."""

    api: str
    requests: str
    latency: str
    budget_wait: str
    not_sent: str


VITALLY = ApiMetricNames(
    "Vitally",
    requests="vitally_sync_vitally_requests",
    latency="vitally_sync_vitally_request_seconds",
    # Named before Unthread had metrics; kept, as alerts already use them.
    budget_wait="vitally_sync_rate_limit_wait_seconds",
    not_sent="vitally_sync_rate_limit_not_sent",
)
UNTHREAD = ApiMetricNames(
    "Unthread",
    requests="vitally_sync_unthread_requests",
    latency="vitally_sync_unthread_request_seconds",
    budget_wait="vitally_sync_unthread_rate_limit_wait_seconds",
    not_sent="vitally_sync_unthread_rate_limit_not_sent",
)


class ApiMetrics:
    """One API client's call observer: requests by endpoint template and status class, their
    latency, and the waits for (and refusals by) the tenant's rate budget."""

    def __init__(self, registry: CollectorRegistry, names: ApiMetricNames) -> None:
        api = names.api
        self.calls = Counter(
            names.requests,
            f"Requests sent to {api}, by endpoint template and status class "
            "(2xx, 4xx, 429, 5xx, other, or no_answer)",
            ["endpoint", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            names.latency,
            f"Time from sending a {api} request to its answer (or failure)",
            ["endpoint"],
            buckets=_CALL_BUCKETS,
            registry=registry,
        )
        self.budget_wait = Histogram(
            names.budget_wait,
            f"Time a request waited for its tenant's {api} rate budget",
            buckets=_WAIT_BUCKETS,
            registry=registry,
        )
        self.not_sent = Counter(
            names.not_sent,
            f"Requests not sent because the tenant's {api} budget would have held them too "
            "long (the event parks)",
            registry=registry,
        )

    def called(
        self,
        tenant_id: str,
        endpoint: str,
        status: int | None,
        seconds: float,
        retry_after: float | None,
    ) -> None:
        self.calls.labels(endpoint, _status_class(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def budget_waited(self, seconds: float) -> None:
        self.budget_wait.observe(seconds)

    def throttled(self, tenant_id: str, retry_after: float | None) -> None:
        self.not_sent.inc()


class Metrics:
    """Our counters, histograms and gauges, on one registry: ``vitally`` and ``unthread``
    observe the API clients' calls."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.events = Counter(
            "vitally_sync_audit_records",
            "Audit records written, by outcome and reason (reason empty when synced)",
            ["outcome", "reason"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "vitally_sync_dlq_records",
            "Records sent to the DLQ, by reason",
            ["reason"],
            registry=registry,
        )
        self.undelivered = Counter(
            "vitally_sync_output_delivery_failures",
            "Audit records (output=audit) and DLQ copies (output=dlq) Kafka refused or did not "
            "confirm in time; each is sent again and its input record waits, unacked",
            ["output"],
            registry=registry,
        )
        # An alert of its own: events given up on because a tenant stayed unusable.
        self.attention_expired = Counter(
            "vitally_sync_needs_attention_expired",
            "Events no longer waited for after PARK_ATTENTION_WINDOW_SECONDS because their "
            "tenant still needed attention (replay them after the reconnect)",
            registry=registry,
        )
        self.vitally = ApiMetrics(registry, VITALLY)
        self.unthread = ApiMetrics(registry, UNTHREAD)

    def audited(self, record: AuditRecord) -> None:
        self.events.labels(record.outcome, record.reason or "").inc()
        if record.reason == "needs_attention_expired":
            self.attention_expired.inc()

    def dead_lettered(self, reason: str) -> None:
        self.dead_letters.labels(reason).inc()

    def not_delivered(self, output: str) -> None:
        self.undelivered.labels(output).inc()

    def watch(self, readings: Readings) -> None:
        self.registry.register(_Gauges(readings))


def serve_metrics(app: faust.App, registry: CollectorRegistry) -> None:
    """Faust's Prometheus sensors and ``GET /metrics``, for ``registry``."""
    setup_prometheus_sensors(app, pattern="/metrics", registry=registry)


class _Gauges(Collector):
    """Gauges read when scraped, so they are never stale."""

    def __init__(self, readings: Readings) -> None:
        self._readings = readings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        parked = GaugeMetricFamily(
            "vitally_sync_parked_conversations",
            "Conversations this worker holds parked events for, by the reason of the one due next",
            labels=["reason"],
        )
        for reason, count in sorted(self._readings.parked_by_reason().items()):
            parked.add_metric([reason], count)
        yield parked
        waiting = GaugeMetricFamily(
            "vitally_sync_oldest_waiting_event_age_seconds",
            "Seconds since the oldest event this worker holds parked or set aside for a reason "
            "was first parked, by that reason",
            labels=["reason"],
        )
        for reason, age in sorted(self._readings.waiting_age_by_reason().items()):
            waiting.add_metric([reason], age)
        yield waiting
        yield GaugeMetricFamily(
            "vitally_sync_events_in_flight",
            "Records admitted and not yet finished on this worker",
            value=self._readings.in_flight(),
        )
        lag = GaugeMetricFamily(
            "vitally_sync_consumer_lag",
            "Records in a source partition after the last one this worker finished",
            labels=["topic", "partition"],
        )
        for (topic, partition), behind in sorted(self._readings.lag().items()):
            lag.add_metric([topic, str(partition)], behind)
        yield lag
        lag_seconds = GaugeMetricFamily(
            "vitally_sync_consumer_lag_seconds",
            "Per source partition, how long the oldest record not yet finished has waited "
            "since its timestamp (0 when caught up)",
            labels=["topic", "partition"],
        )
        for (topic, partition), age in sorted(self._readings.lag_seconds().items()):
            lag_seconds.add_metric([topic, str(partition)], age)
        yield lag_seconds
        integrations = GaugeMetricFamily(
            "vitally_sync_integrations",
            "Tenants' integrations as this worker knows them, by status",
            labels=["status"],
        )
        for status, count in sorted(self._readings.integrations_by_status().items()):
            integrations.add_metric([status], count)
        yield integrations


def _status_class(status: int | None) -> str:
    if status is None:
        return "no_answer"
    if status == 429:
        return "429"
    if 200 <= status < 600:
        return f"{status // 100}xx"
    return "other"
