"""The audit record: one per input record the service finished with (contract section 2).

Audit records are read by analytics consumers, so the vocabulary is closed: a typo in an
outcome or reason fails the type check instead of silently creating a new category. They
never carry message text, API keys or other secrets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

Outcome = Literal["synced", "skipped", "parked", "failed", "duplicate"]

Reason = Literal[
    # the tenant
    "integration_not_connected",
    "integration_needs_attention",
    "created_before_connect",
    # people
    "customer_not_in_vitally",
    "teammate_not_in_vitally",
    "no_sender_email",
    # the conversation
    "no_initial_message",
    "conversation_not_synced",
    "conversation_deleted",
    "waiting_for_earlier_event",
    # the message
    "private_note",
    "automated_message",
    "empty_message",
    # the event
    "unsupported_event",
    "invalid_event",
    "already_synced",
    "already_parked",
    "parked_overflow",
    "already_in_vitally",
    "already_deleted",
    "stale_update",
    "no_change",
    # no longer produced (conversation_updated is synced); kept for older audit records
    "update_not_synced",
    "deletion_not_synced",
    # Vitally
    "vitally_auth_failed",
    "vitally_rejected",
    "vitally_unavailable",
    "vitally_rate_limited",
    "tenant_backlogged",
    # us
    "worker_handover",
    "internal_error",
]

REASONS: tuple[str, ...] = Reason.__args__  # type: ignore[attr-defined]  # Literal exposes them


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class SourceRef(_Camel):
    """Where the input record came from: the audit consumers' dedupe key."""

    topic: str
    partition: int
    offset: int


class AuditRecord(_Camel):
    tenant_id: str | None
    conversation_id: str | None
    message_id: str | None
    event: str | None
    event_id: str | None
    source: SourceRef
    outcome: Outcome
    reason: Reason | None
    detail: str | None = None
    vitally_conversation_id: str | None = None
    vitally_message_id: str | None = None
    api_calls: int = 0
    attempts: int = 1
    event_timestamp: int | None = None
    processed_at: int

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()
