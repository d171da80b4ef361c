"""The published audit record: its JSON Schema file follows the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, ValidationError

from schemas.audit import REASONS, AuditRecord, SourceRef, is_result
from schemas.audit_reasons import GUIDE
from schemas.audit_schema import REGENERATE, audit_record_schema, render

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "audit-record.schema.json"


def test_committed_schema_matches_the_model() -> None:
    assert SCHEMA_FILE.read_text() == render(), (
        f"docs/audit-record.schema.json is out of date with schemas/audit.py; run: {REGENERATE}"
    )


def record(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "tenant_id": "T01ACME", "conversation_id": "c_1", "message_id": None,
        "event": "message_created", "event_id": "e_1",
        "source": SourceRef(topic="in", partition=0, offset=1), "outcome": "synced",
        "reason": None, "processed_at": 1,
    }  # fmt: skip
    wire: dict[str, object] = json.loads(AuditRecord.model_validate({**base, **fields}).to_json())
    return wire


def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_schema_requires_every_field_a_record_carries() -> None:
    wire = record()
    assert wire["schemaVersion"] == 1
    assert set(audit_record_schema()["required"]) == set(wire)


@pytest.mark.parametrize("reason", REASONS)
def test_what_the_worker_writes_is_valid(reason: str) -> None:
    validator().validate(record(outcome="skipped", reason=reason, detail="x", api_calls=2))


@pytest.mark.parametrize(
    "change", [{"outcome": "done"}, {"reason": "made_up"}, {"schemaVersion": 2}, {"source": {}}]
)
def test_the_schema_rejects_what_the_model_rejects(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        validator().validate({**record(), **change})


def test_a_result_is_neither_a_wait_nor_a_redelivery_while_waiting() -> None:
    written = {("synced", None)} | {(o, r) for r, guide in GUIDE.items() for o in guide.outcomes}
    waits = {(outcome, reason) for outcome, reason in written if not is_result(outcome, reason)}
    parked = {(o, r) for o, r in written if o == "parked"}
    assert parked and waits == parked | {("duplicate", "already_parked")}
