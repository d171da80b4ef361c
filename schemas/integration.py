"""A tenant's Vitally integration, as stored on the compacted integrations topic.

The API key is only ever stored encrypted (``api_key_encrypted``, a Fernet token made with
``SECRETS_KEY``); ``key_fingerprint`` lets operators tell keys apart without seeing them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Region = Literal["us", "eu"]
IntegrationStatus = Literal["connected", "disconnected", "needs_attention"]
# What a conversation deleted in Unthread does to its Vitally conversation.
OnConversationDeleted = Literal["keep", "delete"]
# Where a Vitally reader opens a conversation in Unthread, unless the tenant sets its own
# template (processors.unthread_link reads the placeholders).
DEFAULT_UNTHREAD_URL_TEMPLATE = "https://app.unthread.io/dashboard/conversations/{conversationId}"

# What the next event of a conversation someone deleted in Vitally does: skipped, or the
# conversation is created in Vitally again (from that event on).
OnVitallyConversationMissing = Literal["skip", "recreate"]


class IntegrationRecord(BaseModel):
    """A tenant's Vitally integration, one record per tenant on the compacted integrations topic."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    tenant_id: str = Field(min_length=1)
    status: IntegrationStatus
    subdomain: str
    region: Region = "us"
    default_admin_email: str
    api_key_encrypted: str = Field(repr=False)
    key_fingerprint: str
    connected_at: datetime
    updated_at: datetime
    status_reason: str | None = None
    # The last time an operator asked for a re-check of the tenant's missing people: every
    # worker then tries the events parked for them at once instead of after their backoff.
    recheck_requested_at: datetime | None = None
    # Optional settings (absent from records written before they existed: the defaults).
    # Conversations created on or after it are synced even though they predate connectedAt.
    backfill_since: datetime | None = None
    on_conversation_deleted: OnConversationDeleted = "keep"
    on_vitally_conversation_missing: OnVitallyConversationMissing = "skip"
    # Optional: an Unthread service-account key, to look up what sparse events leave out;
    # encrypted like the Vitally key, and shown only by its fingerprint.
    unthread_api_key_encrypted: str | None = Field(default=None, repr=False)
    unthread_key_fingerprint: str | None = None
    # The link back to Unthread for this tenant's conversations; None: the default.
    unthread_url_template: str | None = None
    # Import on connect (needs the Unthread key): conversations created since then are read
    # from Unthread's API and synced as events. A new value starts a new import generation;
    # an operator can pause it or restart it (a new generation, from the start).
    import_since: datetime | None = None
    import_generation: int = Field(default=0, ge=0)
    import_paused: bool = False
    # Reconciliation against Unthread's API every so many seconds; 0 is off.
    reconcile_interval_seconds: int = Field(default=0, ge=0)
    # A message edited or deleted in Unthread (found by reconciliation or an import) is
    # changed or removed in Vitally too. Off by default: Vitally's public reference does not
    # state how it treats these calls.
    sync_message_edits: bool = False
    sync_message_deletions: bool = False

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    def supersedes(self, previous: IntegrationRecord | None) -> bool:
        """Whether this record, read after ``previous``, is the tenant's integration now: the
        later ``updatedAt`` wins, and at the same ``updatedAt`` the later record. The one rule
        workers and the CLI read the integrations topic with."""
        return previous is None or self.updated_at >= previous.updated_at

    @classmethod
    def from_json(cls, raw: bytes) -> IntegrationRecord:
        return cls.model_validate_json(raw)

    def public_view(self) -> dict[str, object]:
        """What the HTTP API and the CLI may show: everything but the encrypted key."""
        return self.model_dump(
            mode="json",
            by_alias=True,
            exclude={"api_key_encrypted", "unthread_api_key_encrypted"},
        )


class ConnectRequest(BaseModel):
    """The body of ``PUT /tenants/{tenantId}/integrations/vitally``: Unthread's settings page.

    Strings only (no coercion: ``{"apiKey": 123}`` is a mistake to report, not to guess at).
    The values are normalised and checked against Vitally by ``integrations.validation``; the
    bounds here only keep absurd input out of memory and logs.
    """

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, strict=True,
        hide_input_in_errors=True,  # the input holds the API key
    )  # fmt: skip

    subdomain: str
    api_key: str = Field(repr=False, max_length=1024)
    default_admin_email: str = Field(max_length=320)
    region: str | None = None
    # Optional: left out keeps the saved value, null restores the default (no backfill,
    # "keep"). Strings here; integrations.validation reads and checks them.
    backfill_since: str | None = Field(default=None, max_length=64)
    on_conversation_deleted: str | None = Field(default=None, max_length=16)
    on_vitally_conversation_missing: str | None = Field(default=None, max_length=16)
    unthread_api_key: str | None = Field(default=None, repr=False, max_length=1024)
    unthread_url_template: str | None = Field(default=None, max_length=512)
    # A date-time, a date, or a number of days back from now (a string or a number).
    import_since: str | int | None = Field(default=None)
    reconcile_interval_seconds: int | None = None
    sync_message_edits: bool | None = None
    sync_message_deletions: bool | None = None
