"""The published audit record: its JSON Schema file follows the model."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.audit import AuditRecord, SourceRef
from schemas.audit_schema import REGENERATE, audit_record_schema, render

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "audit-record.schema.json"


def test_committed_schema_matches_the_model() -> None:
    assert SCHEMA_FILE.read_text() == render(), (
        f"docs/audit-record.schema.json is out of date with schemas/audit.py; run: {REGENERATE}"
    )


def test_schema_requires_every_field_a_record_carries() -> None:
    record = AuditRecord(
        tenant_id="T01ACME", conversation_id="c_1", message_id=None, event="message_created",
        event_id="e_1", source=SourceRef(topic="in", partition=0, offset=1), outcome="synced",
        reason=None, processed_at=1,
    )  # fmt: skip
    wire = json.loads(record.to_json())
    assert wire["schemaVersion"] == 1
    assert set(audit_record_schema()["required"]) == set(wire)
