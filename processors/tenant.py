"""What a processor knows about the tenant an event belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from processors.unthread_link import conversation_url
from schemas.integration import (
    DEFAULT_UNTHREAD_URL_TEMPLATE,
    OnConversationDeleted,
    OnVitallyConversationMissing,
)
from unthread.target import UnthreadTarget
from vitally.target import VitallyTarget


@dataclass(frozen=True)
class TenantContext:
    """A connected tenant: where its Vitally is, the fallback admin for conversations, and
    its optional settings."""

    tenant_id: str
    target: VitallyTarget
    default_admin_email: str
    connected_at: datetime
    # Where what sparse events leave out is looked up; None without an Unthread key.
    unthread: UnthreadTarget | None = None
    # Conversations created on or after it (and before connected_at) are synced too.
    backfill_since: datetime | None = None
    on_conversation_deleted: OnConversationDeleted = "keep"
    # How a Vitally reader opens a conversation in Unthread (processors.unthread_link).
    unthread_url_template: str = DEFAULT_UNTHREAD_URL_TEMPLATE
    on_vitally_conversation_missing: OnVitallyConversationMissing = "skip"
    # Conversations created on or after it are imported from Unthread's API, so synced too.
    import_since: datetime | None = None
    # Messages edited or deleted in Unthread are changed or removed in Vitally too.
    sync_message_edits: bool = False
    sync_message_deletions: bool = False

    def backfills(self, created_at: datetime) -> bool:
        """Whether a conversation created then, before the connection, is synced anyway."""
        since = [s for s in (self.backfill_since, self.import_since) if s is not None]
        return bool(since) and created_at >= min(since)

    def unthread_url(self, conversation_id: str, friendly_id: int | str | None) -> str | None:
        """The link to the conversation in Unthread, when the template can be filled in."""
        return conversation_url(self.unthread_url_template, conversation_id, friendly_id)
