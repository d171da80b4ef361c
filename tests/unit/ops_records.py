"""Synthetic audit records for the ops tests, as the worker writes them (AuditRecord)."""

from __future__ import annotations

from schemas.audit import AuditRecord, Outcome, Reason, SourceRef

T0 = 1_764_064_800_000  # 2025-11-25T10:00:00Z


def audit_json(
    *,
    tenant: str = "T01ACME",
    conversation: str = "c-1",
    message: str | None = None,
    event: str = "conversation_created",
    outcome: Outcome = "synced",
    reason: Reason | None = None,
    detail: str | None = None,
    at: int = T0,
    offset: int = 0,
) -> bytes:
    return AuditRecord(
        tenant_id=tenant, conversation_id=conversation, message_id=message, event=event,
        event_id=f"e-{offset}", source=SourceRef(topic="in", partition=0, offset=offset),
        outcome=outcome, reason=reason, detail=detail, processed_at=at,
    ).to_json()  # fmt: skip
