"""The audit record: one per input record the service finished with (docs/interfaces.md, Audit).

Audit records are read by analytics consumers, so the vocabulary is closed: a typo in an
outcome or reason fails the type check instead of silently creating a new category. They
never carry message text, API keys or other secrets.

The record is a published interface: ``docs/audit-record.schema.json`` is generated from
:class:`AuditRecord` (``python -m schemas.audit_schema``), and ``schemaVersion`` goes up when a
change could break a consumer (a field removed, renamed or retyped); added fields and reasons
keep the version.

Every text field is safe whatever the input (:data:`AuditText`): lone surrogates replaced and
at most :data:`AUDIT_TEXT_MAX_CHARS` characters, so a record always serialises and always
fits a produce request, even for an input record whose key is near Kafka's 1 MiB limit (the
key is carried twice: as the audit record's key and as ``conversationId``).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from schemas.text import TRUNCATED_MARKER, bounded, scrub

# Far above any id we accept (schemas.events.MAX_ID_CHARS); reached only by what an invalid
# record carries, cut with TRUNCATED_MARKER at its end.
AUDIT_TEXT_MAX_CHARS: Final = 1024


def _safe_text(value: object) -> object:
    return bounded(scrub(value), AUDIT_TEXT_MAX_CHARS) if isinstance(value, str) else value


AuditText = Annotated[
    str,
    BeforeValidator(_safe_text),
    Field(
        max_length=AUDIT_TEXT_MAX_CHARS,
        description=f"Longer values end with {TRUNCATED_MARKER!r}.",
    ),
]

Outcome = Literal["synced", "skipped", "parked", "failed", "duplicate"]
# Where an input event came from: Unthread's webhooks (live), or the service reading
# Unthread's API to import history or to reconcile what the bus lost.
Origin = Literal["live", "import", "reconcile"]

Reason = Literal[
    # the tenant
    "integration_not_connected",
    "integration_needs_attention",
    "needs_attention_expired",
    "created_before_connect",
    # people
    "customer_not_in_vitally",
    "teammate_not_in_vitally",
    "no_sender_email",
    "not_an_email",
    "unthread_key_missing",
    # the conversation
    "no_initial_message",
    "conversation_not_synced",
    "conversation_deleted",
    "deleted_in_vitally",
    "waiting_for_earlier_event",
    "waiting_for_create",
    # the message
    "private_note",
    "automated_message",
    "empty_message",
    # a message edited or deleted in Unthread
    "edits_disabled",
    "deletions_disabled",
    "message_not_synced",
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
    # Unthread (looking up what sparse events leave out)
    "unthread_unavailable",
    "unthread_rate_limited",
    "unthread_rejected",
    # us
    "worker_handover",
    "internal_error",
]

REASONS: tuple[str, ...] = Reason.__args__  # type: ignore[attr-defined]  # Literal exposes them

SCHEMA_VERSION: Final = 1


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class SourceRef(_Camel):
    """Where the input record came from: the audit consumers' dedupe key."""

    topic: str
    partition: int
    offset: int


def is_result(outcome: object, reason: object) -> bool:
    """Whether an audit record is its input record's result (docs/interfaces.md,
    "Deduplicating"): not a ``parked`` wait, and not ``duplicate/already_parked``, which is
    a redelivery seen while the event still waits and is followed by the real result."""
    return outcome != "parked" and reason != "already_parked"


class AuditRecord(_Camel):
    """What happened to one input record: one per record finished, one more per parked event
    resolved."""

    # Serialised, every field is always there (none is left out for being the default), so
    # the published schema lists them all as required.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION, description="Version of this record's shape."
    )
    tenant_id: AuditText | None = Field(
        description="The Unthread workspace; null for an unreadable record."
    )
    conversation_id: AuditText | None = Field(
        description="The Unthread conversation id (the record key)."
    )
    message_id: AuditText | None = Field(description="The Unthread message id, for message events.")
    event: AuditText | None = Field(description="The input event type, as received.")
    event_id: AuditText | None = Field(
        description="The upstream event id (not unique across retries)."
    )
    source: SourceRef
    outcome: Outcome
    reason: Reason | None = Field(
        description="Why the outcome is not synced (docs/audit-reasons.md); null when synced."
    )
    detail: AuditText | None = Field(
        default=None, description="A short machine-readable refinement of the reason."
    )
    vitally_conversation_id: AuditText | None = None
    vitally_message_id: AuditText | None = None
    api_calls: int = Field(default=0, description="Vitally requests this record cost.")
    attempts: int = Field(default=1, description="Tries, in line and after parking.")
    event_timestamp: int | None = Field(
        default=None, description="When the change happened upstream, ms since the epoch."
    )
    processed_at: int = Field(description="When the service wrote this record, ms since the epoch.")
    origin: Origin = Field(
        default="live",
        description="live: an Unthread webhook event; import or reconcile: an event the service "
        "made from Unthread's API (importing history, or finding what the bus lost).",
    )

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()
