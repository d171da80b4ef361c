"""Unthread conversation events as they arrive on ``unthread.conversation-events``.

The envelope is Unthread's webhook envelope plus ``tenantId`` (contract section 1). Upstream
payloads are loosely specified, so every model here is tolerant: unknown fields are ignored,
almost every field may be missing or null, and a message body may come as ``text`` or
``content``. What we cannot do without (a tenant, a conversation id, a message id) is required,
and anything that fails is reported as :class:`InvalidEvent` for the DLQ.
"""

from __future__ import annotations

import json
from typing import Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from schemas.timestamps import LenientTimestamp, Timestamp, readable_or_none

SUPPORTED_EVENTS = frozenset(
    {"conversation_created", "conversation_updated", "conversation_deleted", "message_created"}
)
ConversationEventType = Literal[
    "conversation_created", "conversation_updated", "conversation_deleted"
]
InvalidEventKind = Literal[
    "invalid_json", "invalid_schema", "missing_key", "key_mismatch", "oversized"
]


class _Upstream(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class Person(_Upstream):
    id: str | None = None
    name: str | None = None
    email: str | None = None


class Tag(_Upstream):
    id: str | None = None
    name: str | None = None


class FileRef(_Upstream):
    id: str | None = None
    name: str | None = None
    size: int | None = None
    mimetype: str | None = None


class Message(_Upstream):
    """A Slack-backed Unthread message; ``text`` is Slack mrkdwn."""

    id: str = Field(min_length=1)
    conversation_id: str | None = None
    ts: str | None = None
    text: str | None = None
    timestamp: Timestamp | None = None
    user_id: str | None = None
    user: Person | None = None
    sent_by_user_id: str | None = None
    sent_by_user: Person | None = None
    is_external: bool | None = None
    is_private_note: bool | None = None
    is_autoresponse: bool | None = None
    bot_id: str | None = None
    bot_name: str | None = None
    files: list[FileRef] | None = None

    @model_validator(mode="before")
    @classmethod
    def _content_is_text(cls, data: Any) -> Any:
        # Unthread webhooks carry the body as `text` or as `content`; both mean the same.
        if isinstance(data, dict) and data.get("text") is None and "content" in data:
            return {**data, "text": data["content"]}
        return data


class Conversation(_Upstream):
    id: str = Field(min_length=1)
    friendly_id: int | str | None = None
    title: str | None = None
    status: str | None = None
    priority: int | None = None
    customer_id: str | None = None
    channel_id: str | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    # Informative only (shown as traits): unreadable is unknown, never a reason to refuse.
    status_updated_at: LenientTimestamp = None
    closed_at: LenientTimestamp = None
    assigned_to_user_id: str | None = None
    assigned_to_user: Person | None = None
    submitter_user: Person | None = None
    tags: list[Tag] | None = None
    initial_message: Message | None = None

    @model_validator(mode="before")
    @classmethod
    def _unreadable_times_are_unknown(cls, data: Any) -> Any:
        # Left out, not null: null says there is no such time (an update then clears it).
        if not isinstance(data, dict):
            return data
        unreadable = {
            name for name in ("closedAt", "statusUpdatedAt", "closed_at", "status_updated_at")
            if data.get(name) is not None and readable_or_none(data[name]) is None
        }  # fmt: skip
        return {k: v for k, v in data.items() if k not in unreadable} if unreadable else data


class _Envelope(_Upstream):
    tenant_id: str = Field(min_length=1)
    event: str
    event_id: str | None = None
    event_timestamp: int | None = None
    webhook_timestamp: int | None = None


class ConversationEvent(_Envelope):
    event: ConversationEventType
    data: Conversation

    @property
    def conversation_id(self) -> str:
        return self.data.id

    @property
    def message_id(self) -> str | None:
        return None


class MessageEvent(_Envelope):
    event: Literal["message_created"]
    data: Message

    @model_validator(mode="after")
    def _needs_conversation(self) -> MessageEvent:
        if not self.data.conversation_id:
            raise ValueError("data.conversationId is required for message_created")
        return self

    @property
    def conversation_id(self) -> str:
        assert self.data.conversation_id is not None  # noqa: S101 - checked by the validator
        return self.data.conversation_id

    @property
    def message_id(self) -> str | None:
        return self.data.id


class UnsupportedEvent(_Envelope):
    """An event type we do not sync; audited as ``skipped/unsupported_event``."""

    conversation_key: str

    @property
    def conversation_id(self) -> str:
        return self.conversation_key

    @property
    def message_id(self) -> str | None:
        return None


InboundEvent: TypeAlias = ConversationEvent | MessageEvent | UnsupportedEvent


class InvalidEvent(Exception):
    """A record we cannot process; it goes to the DLQ unchanged with an audit record."""

    reason = "invalid_event"

    def __init__(self, kind: InvalidEventKind, detail: str, *, envelope: dict[str, Any] | None):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        # Whatever identifying fields could be read, so the audit record can name the tenant.
        self.envelope = envelope or {}


def parse_event(key: bytes | None, value: bytes | None, *, max_bytes: int) -> InboundEvent:
    """Parse one input record, or raise :class:`InvalidEvent` saying why not."""
    if value is not None and len(value) > max_bytes:
        raise InvalidEvent("oversized", f"{len(value)} bytes > {max_bytes}", envelope=None)
    try:
        raw = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: nesting deeper than the decoder allows; a poison pill otherwise.
        raise InvalidEvent("invalid_json", str(exc)[:200], envelope=None) from exc
    if not isinstance(raw, dict):
        raise InvalidEvent("invalid_json", "value is not a JSON object", envelope=None)
    envelope = {k: raw.get(k) for k in ("tenantId", "event", "eventId", "eventTimestamp")}
    if not key:
        raise InvalidEvent("missing_key", "record has no key", envelope=envelope)
    conversation_key = key.decode("utf-8", errors="replace")
    event = _validate(raw, conversation_key, envelope)
    if event.conversation_id != conversation_key:
        raise InvalidEvent(
            "key_mismatch", "record key is not the event's conversation id", envelope=envelope
        )
    return event


def _validate(raw: dict[str, Any], conversation_key: str, envelope: dict[str, Any]) -> InboundEvent:
    try:
        if raw.get("event") == "message_created":
            return MessageEvent.model_validate(raw)
        if raw.get("event") in SUPPORTED_EVENTS:
            return ConversationEvent.model_validate(raw)
        return UnsupportedEvent.model_validate({**raw, "conversationKey": conversation_key})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidEvent("invalid_schema", f"{where}: {first['msg']}", envelope=envelope) from exc
