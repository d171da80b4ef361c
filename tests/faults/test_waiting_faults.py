"""Fault scenarios of waiting events at the service's default settings: one busy thread through
a Vitally outage, and a tenant whose key is revoked for a while.

Each reports, besides lost / duplicates / order violations, the DLQ records and retry records
written, and the outage one the changelog bytes written and the largest table value (the
figures BENCHMARKS.md gives, before and after the waiting table).
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from tests.faults.offsets import end_offsets
from tests.faults.scenario import Scenario
from tests.faults.topic_bytes import written
from tests.faults.workload import Workload
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.faults, pytest.mark.kafka]

OUTAGE_S = 40.0
# The suite's length of the revoked-key scenario; BENCHMARKS.md gives the 10-minute run
# (FAULT_REVOKED_SECONDS=600).
REVOKED_S = float(os.environ.get("FAULT_REVOKED_SECONDS", "30"))
TABLES = ("conversations", "waiting")


def records(deployed: Deployment, topic: str) -> int:
    return sum(end_offsets(deployed.bootstrap, topic).values())


def written_by(deployed: Deployment) -> dict[str, Any]:
    """DLQ and retry records, and what the tables' changelogs hold."""
    changelogs = [written(deployed.bootstrap, f"{deployed.name}-{t}-changelog") for t in TABLES]
    return {
        "dlq_records": records(deployed, deployed.dlq_topic),
        "retry_records": records(deployed, deployed.retry_topic),
        "changelog_bytes": sum(c.bytes for c in changelogs),
        "changelog_records": sum(c.records for c in changelogs),
        "largest_table_value": max(c.largest_value for c in changelogs),
    }


@pytest.mark.timeout(900)
def test_a_500_reply_thread_through_a_40s_outage(
    fault_deployment: Deployment, sandbox: SandboxHandle
) -> None:
    run = Scenario(
        "thread500_outage40", fault_deployment, sandbox, Workload(1, 1, 500, prefix="w"),
        fast_parking=False,
    )  # fmt: skip
    feeder = run.start_fed(latency_ms=10, rate=20)
    run.wait_messages(0.05)
    run.mark(f"outage of {OUTAGE_S:.0f} s starts")
    sandbox.set_faults(outage_seconds=OUTAGE_S)
    time.sleep(OUTAGE_S)
    run.fault_over("Vitally answers again")
    run.all_produced(feeder)
    run.synced(timeout=600)
    figures = written_by(fault_deployment)
    run.finish(timeout=600, **figures)
    assert figures["dlq_records"] == 0
    # O(n): a few KB per event, where copying the queue into one value wrote ~100 MB.
    assert figures["changelog_bytes"] < 20_000_000
    assert figures["largest_table_value"] < 1_000_000


@pytest.mark.timeout(REVOKED_S + 600)
def test_a_revoked_key_costs_no_retry_records_and_resumes_on_reconnect(
    fault_deployment: Deployment, sandbox: SandboxHandle
) -> None:
    workload = Workload(1, 20, 9, prefix="r")
    run = Scenario("revoked_key", fault_deployment, sandbox, workload, fast_parking=False)
    feeder = run.start_fed(latency_ms=10, rate=40)
    run.wait_messages(0.1)
    [tenant] = workload.tenant_list()
    sandbox.set_tokens(tenant.subdomain, [f"{tenant.subdomain}-rotated"])
    run.mark(f"key revoked for {REVOKED_S:.0f} s")
    run.all_produced(feeder)
    retry_before = records(fault_deployment, fault_deployment.retry_topic)
    time.sleep(REVOKED_S)
    retry_while_revoked = records(fault_deployment, fault_deployment.retry_topic) - retry_before
    fault_deployment.connect(
        tenant.tenant_id, subdomain=tenant.subdomain, api_key=f"{tenant.subdomain}-rotated"
    )
    run.fault_over("reconnected with a new key")
    run.synced(timeout=300)
    figures = written_by(fault_deployment)
    run.finish(
        timeout=300, revoked_s=REVOKED_S, retry_records_while_revoked=retry_while_revoked,
        **figures,
    )  # fmt: skip
    assert figures["dlq_records"] == 0
    assert retry_while_revoked == 0
