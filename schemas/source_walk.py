"""Progress of a walk through a tenant's conversations in Unthread's API (an import or a
reconciliation pass), one record per tenant and kind on the compacted source-walks topic.

Written only by the worker that runs the walk; read by every worker (the tenant's GET) and by
the CLI. It holds ids, counts, times and an opaque cursor: never message text or keys.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

WalkKind = Literal["import", "reconcile"]
# running: under way; waiting: Unthread failed (`error`: the look-ups' reason code), tried
# again at `retry_at` from where it stood; paused: an operator paused it, or Unthread refused
# the key (`error` unthread_auth_failed, until the tenant reconnects); done: every listed
# conversation was produced as events.
WalkState = Literal["running", "waiting", "paused", "done"]
# The longest wait between two tries of a walk that Unthread fails (it doubles from 1 s).
MAX_RETRY_SECONDS = 60


class WalkProgress(BaseModel):
    """Where a walk is, so that it resumes after a crash at the page and conversation it had
    reached (a conversation produced again is answered `duplicate` by the sync path)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    tenant_id: str = Field(min_length=1)
    kind: WalkKind
    # The import generation it belongs to (a restart is a new generation); 0 for reconciling.
    generation: int = Field(default=0, ge=0)
    # Import: conversations created after it. Reconcile: updated after it (the watermark).
    since: datetime
    state: WalkState = "running"
    # The page being worked through (None: the first) and how many of its conversations
    # were already produced.
    cursor: str | None = None
    page_done: int = Field(default=0, ge=0)
    listed: int = Field(default=0, ge=0)  # Unthread's totalCount for the walk's query
    conversations: int = Field(default=0, ge=0)  # conversations produced as events
    events: int = Field(default=0, ge=0)  # events produced onto the input topic
    unreadable: int = Field(default=0, ge=0)  # conversations whose messages Unthread refused
    # Reconcile: the newest `updatedAt` seen in this pass, the next pass's `since`.
    watermark: datetime | None = None
    # Why it is waiting or paused: the Unthread reason code of the last failed call.
    error: str | None = None
    # Waiting: the failed tries in a row, and when the next one is due.
    failures: int = Field(default=0, ge=0)
    retry_at: datetime | None = None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None

    @staticmethod
    def key(tenant_id: str, kind: WalkKind) -> bytes:
        return f"{kind}:{tenant_id}".encode()

    def failed(self, reason: str, now: datetime) -> WalkProgress:
        """Unthread failed the walk: waiting, tried again after a backoff doubling from 1 s."""
        failures = self.failures + 1
        wait = min(MAX_RETRY_SECONDS, 2 ** min(failures - 1, 6))
        return self.model_copy(
            update={"state": "waiting", "error": reason, "failures": failures,
                    "retry_at": now + timedelta(seconds=wait)}
        )  # fmt: skip

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> WalkProgress:
        return cls.model_validate_json(raw)

    def view(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude={"cursor", "tenant_id"})


def walk_views(find: Callable[[WalkKind], WalkProgress | None]) -> dict[str, object]:
    """A tenant's import and reconciliation as its GET and the CLI show them (null: none yet)."""
    views: dict[str, object] = {}
    for kind, name in _SHOWN:
        walk = find(kind)
        views[name] = walk.view() if walk is not None else None
    return views


_SHOWN: tuple[tuple[WalkKind, str], ...] = (("import", "import"), ("reconcile", "reconciliation"))
