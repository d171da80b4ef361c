"""Walking a tenant's conversations in Unthread's API and producing them as input events.

An import (conversations created since `importSince`) and a reconciliation pass
(conversations updated since the last pass's watermark) are the same walk: list the
conversations page by page (newest first), read each one's messages, and produce them onto
the input topic keyed by conversation id, as `conversation_created` (and, reconciling,
`conversation_updated`) followed by one `message_created` per message in thread order (and a
`message_updated` or `message_deleted` after a message Unthread shows edited or deleted). The
events go through the same handler as Unthread's webhooks, so ordering per conversation,
idempotency (the table's message ids, Vitally's externalId look-ups) and audit records are
the live ones; `syncOrigin` marks them, and the audit record's `origin` says so.

Newest first, because Unthread's cursors may count places: a conversation created or
updated during the walk moves to the front, so what was not read yet only shifts back and is
read again (a `duplicate`), never skipped.

Progress is saved after every conversation; after a crash the walk resumes at the page and
place it had reached. A conversation produced again after a crash is answered `duplicate`.
When Unthread fails a call the walk stops `waiting`, with the reason an event's look-up would
give, and is tried again after a backoff; a refused key pauses it until the tenant reconnects.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from schemas.events import Conversation, ThreadMessage
from schemas.source_walk import WalkKind, WalkProgress
from schemas.unthread import Condition, ConversationPage, ListQuery, MessagePage
from unthread.errors import UnthreadAuthError, UnthreadError, UnthreadNotFound
from unthread.target import UnthreadTarget

Produce = Callable[[bytes, bytes], Awaitable[None]]
Save = Callable[[WalkProgress], Awaitable[None]]
PAGE = 100


class WalkStopped(Exception):  # noqa: N818 - a signal, not a failure
    """Raised by `produce` when the walk must stop before its next event (the worker is
    stopping, or the tenant moved or was paused meanwhile): progress is saved as it stood."""


class ConversationLister(Protocol):
    """The Unthread list calls a walk makes (unthread.UnthreadClient in production)."""

    async def list_conversations(
        self, target: UnthreadTarget, query: ListQuery
    ) -> ConversationPage: ...

    async def list_messages(
        self, target: UnthreadTarget, conversation_id: str, query: ListQuery
    ) -> MessagePage: ...


@dataclass(frozen=True)
class SourceWalk:
    """Runs one walk for one tenant until it is done, told to stop, or Unthread fails."""

    unthread: ConversationLister
    produce: Produce
    save: Save
    now: Callable[[], datetime]
    # Asked before each conversation: paused, this worker no longer owns the tenant, stopping.
    keep_going: Callable[[], bool]

    async def run(
        self, target: UnthreadTarget, progress: WalkProgress, *, created_after: datetime | None
    ) -> WalkProgress:
        """Walk from where `progress` is; `created_after` (reconcile) leaves out what was
        created before the tenant's sync starts. Returns the progress as last saved."""
        query = _query(progress, created_after)
        try:
            while True:
                page = await self.unthread.list_conversations(
                    target, query.model_copy(update={"cursor": progress.cursor})
                )
                if progress.cursor is None and page.total_count is not None:
                    progress = progress.model_copy(update={"listed": page.total_count})
                for conversation in page.data[progress.page_done :]:
                    if not self.keep_going():
                        return await self._saved(progress)
                    progress = await self._one(target, progress, conversation)
                following = page.cursors.next if page.cursors.has_next else None
                if following is None:
                    done = {"state": "done", "finished_at": self.now(), "error": None}
                    return await self._saved(progress.model_copy(update=done))
                progress = await self._saved(
                    progress.model_copy(update={"cursor": following, "page_done": 0})
                )
        except WalkStopped:
            return await self._saved(progress)
        except UnthreadAuthError as exc:
            # A revoked key: nothing to retry until the tenant reconnects with a working one.
            paused = {"state": "paused", "error": exc.reason, "retry_at": None}
            return await self._saved(progress.model_copy(update=paused))
        except UnthreadError as exc:
            # Unthread down or throttling us: waits, then resumes where it stood. The reason
            # is the one a look-up's event would park (or, refused, fail) with.
            reason = exc.park_reason if exc.transient else exc.reason
            return await self._saved(progress.failed(reason, self.now()))

    async def _one(
        self, target: UnthreadTarget, progress: WalkProgress, conversation: Conversation
    ) -> WalkProgress:
        try:
            messages = await self._messages(target, conversation.id)
        except UnthreadNotFound:
            # Deleted between the list and now: its deletion is an event of its own.
            return await self._saved(
                progress.model_copy(
                    update={
                        "page_done": progress.page_done + 1,
                        "unreadable": progress.unreadable + 1,
                    }
                )  # fmt: skip
            )
        events = conversation_events(progress.tenant_id, progress.kind, conversation, messages)
        key = conversation.id.encode()
        for value in events:
            await self.produce(key, value)
        seen = conversation.updated_at
        watermark = progress.watermark
        if seen is not None and (watermark is None or seen > watermark):
            watermark = seen
        return await self._saved(
            progress.model_copy(
                update={
                    "page_done": progress.page_done + 1,
                    "conversations": progress.conversations + 1,
                    "events": progress.events + len(events),
                    "watermark": watermark,
                    "error": None,
                    "failures": 0,
                    "retry_at": None,
                }
            )
        )

    async def _messages(self, target: UnthreadTarget, conversation_id: str) -> list[ThreadMessage]:
        query = ListQuery(order=["ts"], limit=PAGE)
        found: list[ThreadMessage] = []
        while True:
            page = await self.unthread.list_messages(target, conversation_id, query)
            found += page.data
            if not (page.cursors.has_next and page.cursors.next):
                return found
            query = query.next_page(page.cursors.next)

    async def _saved(self, progress: WalkProgress) -> WalkProgress:
        progress = progress.model_copy(update={"updated_at": self.now()})
        await self.save(progress)
        return progress


def _query(progress: WalkProgress, created_after: datetime | None) -> ListQuery:
    field = "createdAt" if progress.kind == "import" else "updatedAt"
    # Unthread has no ">=": a millisecond earlier takes in what happened at `since` itself (for
    # reconciling, the watermark's own conversation again: a duplicate, never a gap).
    after = progress.since - timedelta(milliseconds=1)
    where = [Condition(field=field, operator=">", value=_iso(after))]
    if created_after is not None and progress.kind == "reconcile":
        floor = created_after - timedelta(milliseconds=1)
        where.append(Condition(field="createdAt", operator=">", value=_iso(floor)))
    return ListQuery(where=where, order=[field, "id"], descending=True, limit=PAGE)


def conversation_events(
    tenant_id: str, kind: WalkKind, conversation: Conversation, messages: list[ThreadMessage]
) -> list[bytes]:
    """The input events that bring `conversation` and its `messages` through the sync path.

    Event ids are deterministic, so the same conversation walked twice gives the same events.
    Deleted messages are not created (there is nothing to show); the initial message travels
    inside `conversation_created`, as in Unthread's own events. A message edited or deleted
    in Unthread also gives a `message_updated` or `message_deleted` after its create (the
    tenant's settings decide whether Vitally follows).
    """
    data = conversation.model_dump(mode="json", by_alias=True, exclude_none=True)
    created = _ms(conversation.created_at)
    events = [_envelope(tenant_id, kind, "conversation_created", f"{kind}:{conversation.id}",
                        created, data)]  # fmt: skip
    if kind == "reconcile":
        updated = _ms(conversation.updated_at)
        event_id = f"reconcile:{conversation.id}:{updated}"
        events.append(_envelope(tenant_id, kind, "conversation_updated", event_id, updated, data))
    initial = conversation.initial_message.id if conversation.initial_message else None
    for message in messages:
        if message.id != initial and message.deleted_at is None:
            body = _message_data(message, conversation.id, revision=False)
            event_id = f"{kind}:{conversation.id}:{message.id}"
            at = _ms(message.timestamp) or created
            events.append(_envelope(tenant_id, kind, "message_created", event_id, at, body))
        revision = _revision(tenant_id, kind, conversation.id, message)
        if revision is not None:
            events.append(revision)
    return events


def _revision(
    tenant_id: str, kind: WalkKind, conversation_id: str, message: ThreadMessage
) -> bytes | None:
    """``message_deleted`` for a message Unthread marks deleted, ``message_updated`` for one
    changed after it was sent, else None. The event id holds the edit's time, so each edit
    is one event however often it is walked, and a later edit another."""
    base = f"{kind}:{conversation_id}:{message.id}"
    if message.deleted_at is not None:
        event, event_id, at = "message_deleted", f"{base}:deleted", _ms(message.deleted_at)
    else:
        edited, sent = message.updated_at, message.timestamp
        if edited is None or (sent is not None and edited <= sent):
            return None
        at = _ms(edited)
        event, event_id = "message_updated", f"{base}:edited:{at}"
    body = _message_data(message, conversation_id, revision=True)
    return _envelope(tenant_id, kind, event, event_id, at, body)


def _message_data(
    message: ThreadMessage, conversation_id: str, *, revision: bool
) -> dict[str, Any]:
    """The message as an event's data; a create leaves out when it was edited or deleted."""
    left_out = None if revision else {"updated_at", "deleted_at"}
    data = message.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=left_out)
    data["conversationId"] = conversation_id
    return data


def _envelope(
    tenant_id: str, kind: WalkKind, event: str, event_id: str, at: int | None,
    data: dict[str, Any],
) -> bytes:  # fmt: skip
    envelope: dict[str, Any] = {
        "tenantId": tenant_id, "event": event, "eventId": event_id, "syncOrigin": kind,
        "data": data,
    }  # fmt: skip
    if at is not None:
        envelope["eventTimestamp"] = at
    return json.dumps(envelope, separators=(",", ":")).encode()


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
