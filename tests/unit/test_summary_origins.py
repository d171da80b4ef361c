"""``syncCounts.byOrigin``: the audit records of imported and reconciled events, counted by the
worker that writes them and carried on the audit summary topic (tests/unit/summary_pipe.py)."""

from __future__ import annotations

import json
from typing import Any

from integrations.audit_summary import TenantSummary
from tests.unit.ops_records import audit_json
from tests.unit.summary_pipe import SummaryPipe

TENANT = "T01ACME"


def record(partition: int, origin: str | None, **fields: Any) -> bytes:
    value = json.loads(audit_json(**fields))
    value["source"]["partition"] = partition
    if origin is not None:
        value["origin"] = origin
    return json.dumps(value).encode()


async def test_imported_and_reconciled_records_are_counted_by_origin_over_partitions() -> None:
    found = SummaryPipe()
    await found.add(
        record(0, "import", outcome="synced", offset=1),
        record(0, "import", outcome="duplicate", reason="already_synced", offset=2),
        record(1, "import", outcome="synced", offset=1),
        record(1, "reconcile", outcome="parked", reason="vitally_unavailable", offset=2),
        record(1, "live", outcome="synced", offset=3),
        record(2, None, outcome="failed", reason="internal_error", offset=1),
    )
    shown = found.for_tenant(TENANT)
    assert shown["byOrigin"] == {
        "import": {"synced": 2, "duplicate": 1}, "reconcile": {"parked": 1},
    }  # fmt: skip
    # Every record is still in the totals, whatever its origin.
    assert shown["total"] == 6
    assert shown["byOutcome"] == {"synced": 3, "duplicate": 1, "parked": 1, "failed": 1}


async def test_a_summary_value_holds_only_the_two_origins_and_none_before_any() -> None:
    found = SummaryPipe()
    await found.add(record(0, "live", outcome="synced", offset=1))
    assert "byOrigin" not in found.for_tenant(TENANT)
    # An origin this version does not know (a later writer's, or a made-up record) is not a key.
    await found.add(
        record(0, "someday", outcome="synced", offset=2),
        *(record(0, "import", outcome="synced", offset=3 + n) for n in range(50)),
    )
    [(_, value)] = found.published[-1:]
    assert json.loads(value)["byOrigin"] == {"import": {"synced": 50}}
    assert found.for_tenant(TENANT)["byOrigin"] == {"import": {"synced": 50}}


def test_a_value_published_before_origins_were_counted_reads_as_none() -> None:
    older = {
        "schemaVersion": 1, "tenantId": TENANT, "partition": 3, "publishedAt": 1,
        "byOutcome": {"synced": 4}, "byReason": {}, "since": None,
        "recentFailures": [], "parked": [], "parkedTruncated": False,
    }  # fmt: skip
    counts = TenantSummary.model_validate_json(json.dumps(older)).counts()
    assert counts.by_origin == {}
    assert "byOrigin" not in counts.view()
