"""The read-only tools on what the worker itself wrote: its audit records match the published
schema, sit on the partition `why` computes (Faust's own producer), and read back as trails
and counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from demo.events import new_conversation, reply
from jsonschema import Draft202012Validator

from ops.trail import key_partition
from schemas.audit_reasons import GUIDE
from tests.fixtures.kafka import consume_all
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"
CONVERSATIONS = [f"c-ops-{i}" for i in range(12)]
SCHEMA = Path(__file__).parents[2] / "docs" / "audit-record.schema.json"


def test_why_and_audit_read_the_workers_audit_records(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    sandbox.add_org(
        "acme",
        tokens=["acme-secret-1"],
        users=[{"email": "jane@customer.example", "name": "Jane Doe"}],
        admins=[
            {"email": "sam@vendor.example", "name": "Sam Agent", "licenseStatus": "active"},
            {"email": "ops@vendor.example", "name": "Ops Default", "licenseStatus": "active"},
        ],
    )
    deployed.connect(TENANT, subdomain="acme", api_key="acme-secret-1")
    deployed.start_worker()
    now = datetime.now(UTC)
    events = []
    for conv in CONVERSATIONS:
        events += [
            new_conversation(
                TENANT, conv, submitter="jane@customer.example", assignee="sam@vendor.example",
                title="Export fails", text="Hi, export fails", at=now,
            ),
            reply(
                TENANT, conv, "internal", sender="sam@vendor.example", support=True,
                message_id=f"{conv}-note", isPrivateNote=True, at=now,
            ),
        ]  # fmt: skip
    deployed.produce(events)
    records = consume_all(deployed.bootstrap, deployed.audit_topic, 90, expected_count=len(events))
    assert len(records) == len(events)

    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    for record in records:
        validator.validate(json.loads(record.value or b""))
        assert record.key is not None
        assert record.partition == key_partition(record.key, deployed.partitions)

    why = deployed.cli("why", "--tenant", TENANT, "--conversation", "c-ops-3").stdout.splitlines()
    assert why[0].startswith("conversation c-ops-3 of tenant T01ACME: 2 audit records")
    assert why[2].split()[1:] == ["conversation_created", "synced"]
    assert why[3].split()[1:] == ["message_created", "c-ops-3-note", "skipped", "private_note"]
    assert why[4] == f"    fix: {GUIDE['private_note'].fix}"

    counts = json.loads(deployed.cli("audit", "--tenant", TENANT, "--format", "json").stdout)
    [tenant] = counts["tenants"]
    assert tenant["byOutcome"] == {"synced": 12, "skipped": 12}
    assert tenant["byReason"] == {"private_note": 12}
