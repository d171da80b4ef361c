"""The metrics as an operator meets them: the docs list exactly the names a scrape shows, the
shipped alert rules and dashboard name only metrics the code registers, no label names a
tenant, and the DLQ and Unthread calls are counted."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from schemas.audit import AuditRecord, SourceRef
from schemas.dead_letter import Failure
from schemas.kafka_limits import PRODUCER_MAX_REQUEST_BYTES
from streams.delivery import Deliveries
from streams.handler import SourceRecord
from streams.metrics import Metrics, Readings
from streams.ports import KafkaOutputs
from tests.metric_names import ROOT, documented, promql_names, registered, series
from tests.unit.summary_pipe import SummaryPipe
from unthread import UnthreadClient, UnthreadServerError, UnthreadTarget
from vitally import RetryPolicy

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "vitally-sync.json"


def test_the_docs_list_every_metric_exactly_as_scraped() -> None:
    names = set(registered())
    assert all(n.endswith("_total") for n, kind in registered().items() if kind == "counter")
    assert documented(ROOT / "docs" / "interfaces.md") == names
    assert documented(ROOT / "README.md") == names


def alert_expressions() -> list[str]:
    # One expression per `expr:` line (the file keeps them on one line for this check).
    found = re.findall(r"^\s*expr:\s*(.+?)\s*$", ALERTS.read_text(), flags=re.MULTILINE)
    assert all(e not in ("|", ">", "|-", ">-") for e in found), "keep each expr on one line"
    return found


def dashboard_expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def test_every_alert_rule_and_dashboard_expression_names_a_registered_metric() -> None:
    known = series(registered())
    for expressions in (alert_expressions(), dashboard_expressions()):
        assert len(expressions) >= 10
        for expr in expressions:
            named = promql_names(expr)
            assert named, expr
            assert named <= known, f"{sorted(named - known)} in {expr}"
    used = {n for e in alert_expressions() for n in promql_names(e)}
    # The alerts cover what an on-call acts on.
    assert {
        "vitally_sync_consumer_lag_seconds",
        "vitally_sync_oldest_waiting_event_age_seconds",
        "vitally_sync_dlq_records_total",
        "vitally_sync_unthread_requests_total",
    } <= used


def test_promql_names_skip_functions_labels_ranges_and_groupings() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, endpoint) (rate(a_bucket{status=~"5xx|x"}'
        "[$__rate_interval]))) / on(job) group_left(instance) b offset 5m > bool 1e3"
    )
    assert promql_names(expr) == {"a_bucket", "b"}


Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(metrics: Metrics) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(generate_latest(metrics.registry).decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


class Topic:
    """Stands in for a Faust topic: what was sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, **kwargs: Any) -> asyncio.Future[None]:
        self.sent.append(kwargs)
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered


async def test_dead_letters_are_counted_by_reason_and_no_label_names_a_tenant() -> None:
    metrics = Metrics(CollectorRegistry())
    metrics.watch(
        Readings(
            parked_by_reason=lambda: {"vitally_unavailable": 2},
            waiting_age_by_reason=lambda: {"vitally_unavailable": 90.0},
            in_flight=lambda: 1,
            lag=lambda: {("in", 0): 3},
            lag_seconds=lambda: {("in", 0): 12.5},
            integrations_by_status=lambda: {"connected": 1},
        )
    )
    dlq = Topic()
    pipe = SummaryPipe()
    deliveries = Deliveries(
        stopping=lambda: False, timeout_s=1.0, grace_s=0.0, on_failure=metrics.not_delivered
    )
    outputs = KafkaOutputs(
        Topic(),  # type: ignore[arg-type]
        dlq,  # type: ignore[arg-type]
        metrics,
        deliveries,
        pipe.writer,
        max_record_bytes=PRODUCER_MAX_REQUEST_BYTES,
    )
    source = SourceRecord("in", 0, 7, b"conv", b"{bad")
    failure = Failure(
        reason="invalid_json", detail="not JSON", stage="parse", error_class="",
        attempts=1, first_attempt_at=0, failed_at=0,
    )  # fmt: skip
    await outputs.dead_letter(source, failure)
    await outputs.dead_letter(source, failure)
    await outputs.audit(
        AuditRecord(
            tenant_id="T01ACME",
            conversation_id="c",
            message_id=None,
            event=None,
            event_id=None,
            source=SourceRef(topic="in", partition=0, offset=7),
            outcome="failed",
            reason="vitally_rejected",
            processed_at=1,
        )  # fmt: skip
    )
    await pipe.writer.publish()
    assert pipe.for_tenant("T01ACME")["byOutcome"] == {"failed": 1}  # counted for the API too
    metrics.vitally.called("T01ACME", "POST /resources/conversations", 503, 0.2, None)
    found = scrape(metrics)
    assert found["vitally_sync_dlq_records_total"] == [({"reason": "invalid_json"}, 2.0)]
    assert found["vitally_sync_consumer_lag_seconds"] == [({"topic": "in", "partition": "0"}, 12.5)]
    assert found["vitally_sync_oldest_waiting_event_age_seconds"] == [
        ({"reason": "vitally_unavailable"}, 90.0)
    ]
    labels = {
        key for samples in found.values() for sample_labels, _ in samples for key in sample_labels
    }
    assert labels and not any("tenant" in key.lower() for key in labels)
    assert not any("T01ACME" in v for s in found.values() for ls, _ in s for v in ls.values())


async def test_unthread_calls_are_counted_like_vitally_calls() -> None:
    metrics = Metrics(CollectorRegistry())

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404 if request.url.path.endswith("/c-gone") else 503)

    client = UnthreadClient(
        httpx.AsyncClient(transport=httpx.MockTransport(answer)),
        retry=RetryPolicy(max_attempts=1, jitter=0.0),
        observer=metrics.unthread,
    )
    target = UnthreadTarget.for_tenant("T01ACME", "acme-key", "https://unthread.test/api")
    assert await client.get_conversation(target, "c-gone") is None
    with pytest.raises(UnthreadServerError):
        await client.get_conversation(target, "c-1")
    found = scrape(metrics)
    endpoint = "GET /conversations/{id}"
    assert sorted(found["vitally_sync_unthread_requests_total"], key=str) == sorted(
        [
            ({"endpoint": endpoint, "status": "4xx"}, 1.0),
            ({"endpoint": endpoint, "status": "5xx"}, 1.0),
        ],
        key=str,
    )
    assert found["vitally_sync_unthread_request_seconds_count"] == [({"endpoint": endpoint}, 2.0)]
    assert "vitally_sync_vitally_requests_total" not in found  # not counted as Vitally's
    await client.aclose()
