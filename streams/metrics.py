"""The worker's metrics on ``GET /metrics`` (Prometheus text format, no token, like ``/ready``).

Faust's own sensors (messages, commits, offsets per partition, rebalances, table operations)
and ours, on one registry per app. No label carries a tenant, an email or any text from an
event: the label values are fixed sets (outcomes, reasons, status classes, integration states)
or the service's own topics, partitions and endpoint templates, so the number of series is
bounded however many tenants there are. docs/operations.md lists them with alerts worth
setting.
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
    in_flight: Callable[[], int]
    lag: Callable[[], Mapping[tuple[str, int], int]]
    integrations_by_status: Callable[[], Mapping[str, int]]


class Metrics:
    """Our counters and histograms; also the Vitally client's call observer."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.events = Counter(
            "vitally_sync_audit_records",
            "Audit records written, by outcome and reason (reason empty when synced)",
            ["outcome", "reason"],
            registry=registry,
        )
        self.calls = Counter(
            "vitally_sync_vitally_requests",
            "Requests sent to Vitally, by endpoint template and status class "
            "(2xx, 4xx, 429, 5xx, other, or no_answer)",
            ["endpoint", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "vitally_sync_vitally_request_seconds",
            "Time from sending a Vitally request to its answer (or failure)",
            ["endpoint"],
            buckets=_CALL_BUCKETS,
            registry=registry,
        )
        self.budget_wait = Histogram(
            "vitally_sync_rate_limit_wait_seconds",
            "Time a request waited for its tenant's Vitally rate budget",
            buckets=_WAIT_BUCKETS,
            registry=registry,
        )
        # An alert of its own: events given up on because a tenant stayed unusable.
        self.attention_expired = Counter(
            "vitally_sync_needs_attention_expired",
            "Events no longer waited for after PARK_ATTENTION_WINDOW_SECONDS because their "
            "tenant still needed attention (replay them after the reconnect)",
            registry=registry,
        )
        self.not_sent = Counter(
            "vitally_sync_rate_limit_not_sent",
            "Requests not sent because the tenant's budget would have held them too long "
            "(the event parks as vitally_rate_limited)",
            registry=registry,
        )

    def audited(self, record: AuditRecord) -> None:
        self.events.labels(record.outcome, record.reason or "").inc()
        if record.reason == "needs_attention_expired":
            self.attention_expired.inc()

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
