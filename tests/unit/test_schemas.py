"""The audit record, the conversation state and the integration record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas.audit import REASONS, AuditRecord, SourceRef
from schemas.integration import IntegrationRecord
from schemas.state import RECENT_MESSAGE_IDS, ConversationState, ParkedEvent

CONTRACT_REASONS = [
    "integration_not_connected",
    "created_before_connect",
    "customer_not_in_vitally",
    "teammate_not_in_vitally",
    "no_sender_email",
    "conversation_not_synced",
    "private_note",
    "automated_message",
    "unsupported_event",
    "invalid_event",
    "vitally_auth_failed",
    "vitally_rejected",
]


def audit(**fields: object) -> AuditRecord:
    base: dict[str, object] = {
        "tenant_id": "T01ACME",
        "conversation_id": "c_1",
        "message_id": "m_1",
        "event": "message_created",
        "event_id": "e_1",
        "source": SourceRef(topic="unthread.conversation-events", partition=3, offset=1187),
        "outcome": "synced",
        "reason": None,
        "processed_at": 1764064800420,
    }
    return AuditRecord.model_validate({**base, **fields})


def test_contract_reasons_are_in_the_vocabulary() -> None:
    assert set(CONTRACT_REASONS) <= set(REASONS)
    assert all(r == r.lower() and " " not in r for r in REASONS)


def test_audit_json_has_the_contract_shape() -> None:
    wire = json.loads(audit(vitally_conversation_id="7a1b", api_calls=1).to_json())
    assert wire == {
        "schemaVersion": 1,
        "tenantId": "T01ACME",
        "conversationId": "c_1",
        "messageId": "m_1",
        "event": "message_created",
        "eventId": "e_1",
        "source": {"topic": "unthread.conversation-events", "partition": 3, "offset": 1187},
        "outcome": "synced",
        "reason": None,
        "detail": None,
        "vitallyConversationId": "7a1b",
        "vitallyMessageId": None,
        "apiCalls": 1,
        "attempts": 1,
        "eventTimestamp": None,
        "processedAt": 1764064800420,
        "origin": "live",
    }


@pytest.mark.parametrize(
    "fields", [{"outcome": "done"}, {"outcome": "skipped", "reason": "because"}]
)
def test_audit_vocabulary_is_closed(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        audit(**fields)


def state(**fields: object) -> ConversationState:
    return ConversationState.model_validate(
        {"tenant_id": "T01ACME", "conversation_id": "c_1", "status": "synced", **fields}
    )


def test_synced_needs_a_vitally_id() -> None:
    assert not state().synced
    assert state(vitally_conversation_id="v_1").synced
    assert not state(status="deleted", vitally_conversation_id="v_1").synced


def test_message_ids_keep_the_most_recent() -> None:
    s = state()
    for n in range(RECENT_MESSAGE_IDS + 5):
        s = s.with_message(f"m_{n}", n)
    assert len(s.message_ids) == RECENT_MESSAGE_IDS
    assert s.message_ids[0] == "m_5" and s.message_ids[-1] == f"m_{RECENT_MESSAGE_IDS + 4}"
    assert s.last_offset == RECENT_MESSAGE_IDS + 4


def test_at_offset_never_goes_back() -> None:
    assert state(last_offset=9).at_offset(4).last_offset == 9
    assert state(last_offset=9).at_offset(12).last_offset == 12


def test_a_state_written_with_inline_parked_events_is_read_with_them_kept_for_the_move() -> None:
    parked = ParkedEvent(
        topic="t",
        partition=1,
        offset=5,
        key="c_1",
        value='{"x": 1}',
        reason="vitally_unavailable",
        attempts=2,
        first_parked_at=10,
        next_attempt_at=20,
        verify=True,
    )
    old = state(vitally_conversation_id="v_1", message_ids=("m_1",)).model_dump(by_alias=True)
    old.update(parked=[parked.model_dump(by_alias=True)], aside=[])
    s = ConversationState.from_json(json.dumps(old).encode())
    assert s.vitally_conversation_id == "v_1" and s.queue.legacy_parked == (parked,)
    # What is written again has only the counters: the events move to the waiting table.
    raw = s.to_json()
    assert b'"parked"' not in raw and b'"legacy' not in raw and b'"queue"' in raw
    assert ConversationState.from_json(raw).queue.legacy_parked == ()


def test_integration_record_never_shows_the_encrypted_key() -> None:
    at = datetime(2026, 11, 25, tzinfo=UTC)
    record = IntegrationRecord(
        tenant_id="T01ACME",
        status="connected",
        subdomain="acme",
        default_admin_email="o@v.ex",
        api_key_encrypted="gAAAA-secret-token",
        key_fingerprint="sha256:abc",
        connected_at=at,
        updated_at=at,
    )
    assert "gAAAA" not in repr(record)
    view = record.public_view()
    assert "apiKeyEncrypted" not in view and "gAAAA" not in json.dumps(view)
    assert view["connectedAt"] == "2026-11-25T00:00:00Z"
    assert IntegrationRecord.from_json(record.to_json()) == record
