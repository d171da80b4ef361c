"""Unthread conversation events as they arrive on ``unthread.conversation-events``.

The envelope is Unthread's webhook envelope plus ``tenantId`` (docs/interfaces.md, Input).
Upstream payloads are loosely specified, so every model here is tolerant: unknown fields are
ignored, almost every field may be missing or null, and a message body may come as ``text`` or
``content``. What we cannot do without (a tenant, a conversation id, a message id) is required,
and anything that fails is reported as :class:`InvalidEvent` for the DLQ.

Shapes seen from Unthread and the public clients that read its webhooks, all accepted:

* times as ISO-8601 (with or without zone) or epoch ms, as a number or a numeric string; an
  empty string is no time, and any other unreadable time is rejected (``createdAt`` decides
  whether a conversation predates the connection; a guessed one could sync or skip wrongly).
  Envelope times (``eventTimestamp``, ``webhookTimestamp``) only inform: unreadable is unknown.
* ``ts`` as a string or a number;
* a conversation as ``data`` itself or nested as ``data.conversation``; a message's
  conversation as ``conversationId`` or ``conversation.id``;
* expansions (``user``, ``sentByUser``, ``submitterUser``, ``assignedToUser``) as an object,
  null, missing, or a bare id; tags as objects or bare names;
* ids only: a message of ``id``, ``conversationId`` and ``userId`` / ``sentByUserId``, a
  conversation of ``id`` (``processors.enrichment`` looks up the rest);
* an odd value in a field that only informs (``"priority": "high"``, ``"tags": [null]``, a
  file that is not an object): that value is left out, as if it had not been sent, and its
  name kept in :func:`ignored_fields` for the audit record, instead of costing the event.
  Fields that decide something (ids, times that decide, the private-note, autoresponse and
  external flags) stay strict.

Every string is made safe here, once (:mod:`schemas.text`): a lone surrogate escape becomes
U+FFFD wherever it is, so text with a broken emoji still syncs. The identifiers the service
keys, dedupes and audits by (``tenantId``, ``eventId``, the conversation and message ids, the
record key) are bounded (:data:`MAX_ID_CHARS`, :data:`MAX_KEY_BYTES`) and refused
(``invalid_schema``) if they held a lone surrogate, a U+FFFD or a control character: a
repaired id could name another conversation.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic.alias_generators import to_camel

from schemas.kafka_limits import MAX_KEY_BYTES
from schemas.text import IDENTIFIER_PATTERN, may_hold_surrogates, scrub_json
from schemas.timestamps import EpochMillis, LenientTimestamp, Timestamp, readable_or_none

SUPPORTED_EVENTS = frozenset(
    {"conversation_created", "conversation_updated", "conversation_deleted", "message_created"}
)
ConversationEventType = Literal[
    "conversation_created", "conversation_updated", "conversation_deleted"
]
# Made by the service from Unthread's message list (Unthread sends no event for either).
RevisionEventType = Literal["message_updated", "message_deleted"]
REVISION_EVENTS = frozenset({"message_updated", "message_deleted"})
InvalidEventKind = Literal[
    "invalid_json", "invalid_schema", "missing_key", "key_mismatch", "oversized"
]
# Unthread's ids are UUIDs and Slack ids, far shorter; a longer one is not an id of theirs.
MAX_ID_CHARS = 256
# Event types are short names; a longer one is not a type (and would bloat the audit record).
MAX_EVENT_TYPE_CHARS = 100
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _number_as_text(value: Any) -> Any:
    # A Slack ts sent as a JSON number; repr keeps its six decimals ("1748707942.332879").
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return value


def _usable_id(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise ValueError(
            "not a usable id: empty, or holds a lone surrogate, U+FFFD or a control character"
        )
    return value


# An id the service keys, dedupes or audits by.
_Id = Annotated[str, Field(max_length=MAX_ID_CHARS), AfterValidator(_usable_id)]
_OptionalId = Annotated[_Id | None, BeforeValidator(_blank_is_none)]

# A time that decides something: blank is missing, anything else must be readable.
_Time = Annotated[Timestamp | None, BeforeValidator(_blank_is_none)]
_SlackTs = Annotated[str | None, BeforeValidator(_number_as_text)]


class _Upstream(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


# Each field whose odd value is left out rather than refused, by the name Unthread sends.
_MESSAGE_INFORMATIVE = frozenset(
    {"ts", "timestamp", "user", "sentByUser", "botName", "files", "subtype", "metadata"}
)
_CONVERSATION_INFORMATIVE = frozenset(
    {
        "friendlyId", "title", "status", "priority", "customerId", "channelId", "tags",
        "assignedToUser", "submitterUser",
    }
)  # fmt: skip
# More odd values than this in one object is not an odd value but a wrong shape: refused.
_MAX_IGNORED = 16


class _Tolerant(_Upstream):
    """A model that leaves out an odd value of an informative field and remembers its name."""

    _ignored: tuple[str, ...] = PrivateAttr(default=())

    @classmethod
    def _informative(cls) -> frozenset[str]:
        raise NotImplementedError

    @model_validator(mode="wrap")
    @classmethod
    def _leave_out_odd_values(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        ignored: list[str] = []
        while True:
            try:
                model = handler(data)
            except ValidationError as exc:
                if not isinstance(data, dict) or len(ignored) >= _MAX_IGNORED:
                    raise
                data, odd = _without_odd(data, exc, cls._informative())
                if not odd:
                    raise
                ignored += odd
                continue
            if ignored:
                # The class's own validator setting what it found on the instance it made.
                model._ignored = (*model.ignored, *ignored)  # noqa: SLF001
            return model

    @property
    def ignored(self) -> tuple[str, ...]:
        """The informative fields whose odd values were left out (``tags[0]`` for one tag)."""
        return self._ignored


def _without_odd(
    data: dict[str, Any], exc: ValidationError, informative: frozenset[str]
) -> tuple[dict[str, Any], list[str]]:
    """``data`` without the informative values ``exc`` found odd, and their names; nothing
    left out when any error lies in a field that decides something."""
    drop: dict[str, set[int] | None] = {}  # field -> list items to drop (None: the whole field)
    for error in exc.errors():
        loc = error["loc"]
        name = to_camel(str(loc[0])) if loc else ""
        if name not in informative or name not in data and _snake(name) not in data:
            return data, []
        items = drop.setdefault(name, set())
        if items is not None and len(loc) > 1 and isinstance(loc[1], int):
            items.add(loc[1])
        else:
            drop[name] = None
    cleaned, names = dict(data), []
    for name, items in drop.items():
        key = name if name in cleaned else _snake(name)
        value = cleaned[key]
        kept = (
            [v for i, v in enumerate(value) if i not in items]
            if items is not None and isinstance(value, list)
            else []
        )
        if kept:
            cleaned[key] = kept
        else:
            # Nothing readable left: unknown, not an empty list (which would clear a trait).
            del cleaned[key]
        if items is None or not isinstance(value, list):
            names.append(name)
        else:
            names += [f"{name}[{i}]" for i in sorted(items)]
    return cleaned, names


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


class Person(_Upstream):
    id: str | None = None
    name: str | None = None
    email: str | None = None
    slack_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_id(cls, data: Any) -> Any:
        # Some payloads name a person by id where others expand them.
        return {"id": data} if isinstance(data, str) else data


class Tag(_Upstream):
    id: str | None = None
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data


class FileRef(_Upstream):
    """A Slack file of a message.

    Its ``urlPrivate``/``urlPrivateDownload`` need a Slack login, so they are not read: only
    ``permalinkPublic`` opens for a Vitally reader, once the file's public link is shared.
    """

    id: str | None = None
    name: str | None = None
    title: str | None = None
    size: int | None = None
    mimetype: str | None = None
    filetype: str | None = None
    permalink_public: str | None = None
    public_url_shared: bool | None = None


class MessageMetadata(_Upstream):
    """What Unthread says of a message's origin: ``eventType`` names automated posts
    (``autoresponder_replied``, ``email_received``, ...)."""

    event_type: str | None = None


class Message(_Tolerant):
    """A Slack-backed Unthread message; ``text`` is Slack mrkdwn."""

    id: _Id
    conversation_id: _OptionalId = None
    ts: _SlackTs = None
    text: str | None = None
    timestamp: _Time = None
    user_id: str | None = None
    user: Person | None = None
    sent_by_user_id: str | None = None
    sent_by_user: Person | None = None
    is_external: bool | None = None
    is_private_note: bool | None = None
    is_autoresponse: bool | None = None
    bot_id: str | None = None
    bot_name: str | None = None
    # Slack's message subtype ("bot_message" for a bot's post).
    subtype: str | None = None
    metadata: MessageMetadata | None = None
    files: list[FileRef] | None = None

    @classmethod
    def _informative(cls) -> frozenset[str]:
        return _MESSAGE_INFORMATIVE

    @model_validator(mode="before")
    @classmethod
    def _content_is_text(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # Unthread webhooks carry the body as `text` or as `content`; both mean the same, and
        # a blank one of them must not hide the other.
        if _blank_is_none(data.get("text")) is None and _blank_is_none(data.get("content")):
            data = {**data, "text": data["content"]}
        nested = data.get("conversation")
        if data.get("conversationId") is None and isinstance(nested, dict) and "id" in nested:
            data = {**data, "conversationId": nested["id"]}
        return data


class ThreadMessage(Message):
    """A message as Unthread's message list shows it, and as ``message_updated`` and
    ``message_deleted`` carry it: with the only signals of an edit or a deletion."""

    updated_at: LenientTimestamp = None
    deleted_at: LenientTimestamp = None


class Conversation(_Tolerant):
    id: _Id
    friendly_id: int | str | None = None
    title: str | None = None
    status: str | None = None
    priority: int | None = None
    customer_id: str | None = None
    channel_id: str | None = None
    created_at: _Time = None
    updated_at: _Time = None
    # Informative only (shown as traits): unreadable is unknown, never a reason to refuse.
    status_updated_at: LenientTimestamp = None
    closed_at: LenientTimestamp = None
    assigned_to_user_id: str | None = None
    assigned_to_user: Person | None = None
    submitter_user: Person | None = None
    tags: list[Tag] | None = None
    initial_message: Message | None = None

    @classmethod
    def _informative(cls) -> frozenset[str]:
        return _CONVERSATION_INFORMATIVE

    @model_validator(mode="before")
    @classmethod
    def _nested(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # Some senders wrap the conversation: `data: {"conversation": {...}, ...}`.
        if "id" not in data:
            nested = data.get("conversation")
            if isinstance(nested, dict):
                rest = {k: v for k, v in data.items() if k != "conversation"}
                data = {**nested, **rest}
        # An unreadable closed or status time is unknown: left out, not null (null says there
        # is no such time, and an update then clears it).
        unreadable = {
            name for name in ("closedAt", "statusUpdatedAt", "closed_at", "status_updated_at")
            if _blank_is_none(data.get(name)) is not None and readable_or_none(data[name]) is None
        }  # fmt: skip
        return {k: v for k, v in data.items() if k not in unreadable} if unreadable else data


class _Envelope(_Upstream):
    tenant_id: _Id
    event: str = Field(max_length=MAX_EVENT_TYPE_CHARS)
    event_id: _OptionalId = None
    event_timestamp: EpochMillis = None
    webhook_timestamp: EpochMillis = None
    # Set only on the events the service makes from Unthread's API (import, reconcile).
    sync_origin: Literal["import", "reconcile"] | None = None


class ConversationEvent(_Envelope):
    event: ConversationEventType
    data: Conversation

    @property
    def conversation_id(self) -> str:
        return self.data.id

    @property
    def message_id(self) -> str | None:
        return None


class MessageEnvelope(_Envelope):
    """An event about one message: its conversation is the message's ``conversationId``."""

    data: Message

    @model_validator(mode="after")
    def _needs_conversation(self) -> MessageEnvelope:
        if not self.data.conversation_id:
            raise ValueError(f"data.conversationId is required for {self.event}")
        return self

    @property
    def conversation_id(self) -> str:
        assert self.data.conversation_id is not None  # noqa: S101 - checked by the validator
        return self.data.conversation_id

    @property
    def message_id(self) -> str | None:
        return self.data.id


class MessageEvent(MessageEnvelope):
    event: Literal["message_created"]


class RevisionEvent(MessageEnvelope):
    """A message edited (``message_updated``) or deleted (``message_deleted``) in Unthread,
    as the service found it in Unthread's message list."""

    event: RevisionEventType
    data: ThreadMessage


class UnsupportedEvent(_Envelope):
    """An event type we do not sync; audited as ``skipped/unsupported_event``."""

    conversation_key: _Id

    @property
    def conversation_id(self) -> str:
        return self.conversation_key

    @property
    def message_id(self) -> str | None:
        return None


InboundEvent: TypeAlias = ConversationEvent | MessageEvent | RevisionEvent | UnsupportedEvent


def ignored_fields(event: InboundEvent) -> tuple[str, ...]:
    """The informative values of the event left out as odd, by where they were
    (``priority``, ``tags[0]``, ``initialMessage.files[1]``)."""
    if isinstance(event, MessageEnvelope):
        return event.data.ignored
    if isinstance(event, ConversationEvent):
        initial = event.data.initial_message
        nested = tuple(f"initialMessage.{name}" for name in initial.ignored) if initial else ()
        return (*event.data.ignored, *nested)
    return ()


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
        # UTF-8 only (json.loads would also take UTF-16/32): a parked record is stored as text.
        text = (value or b"").decode("utf-8")
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: nesting deeper than the decoder allows; a poison pill otherwise.
        raise InvalidEvent("invalid_json", str(exc)[:200], envelope=None) from exc
    if not isinstance(raw, dict):
        raise InvalidEvent("invalid_json", "value is not a JSON object", envelope=None)
    if may_hold_surrogates(text):
        raw = scrub_json(raw)
    envelope = {k: raw.get(k) for k in ("tenantId", "event", "eventId", "eventTimestamp")}
    if not key:
        raise InvalidEvent("missing_key", "record has no key", envelope=envelope)
    if len(key) > MAX_KEY_BYTES:
        raise InvalidEvent(
            "invalid_schema", f"record key is {len(key)} bytes > {MAX_KEY_BYTES}",
            envelope=envelope,
        )  # fmt: skip
    conversation_key = key.decode("utf-8", errors="replace")
    event = _validate(raw, conversation_key, envelope)
    if event.conversation_id.encode() != key:
        raise InvalidEvent(
            "key_mismatch", "record key is not the event's conversation id", envelope=envelope
        )
    return event


def _validate(raw: dict[str, Any], conversation_key: str, envelope: dict[str, Any]) -> InboundEvent:
    kind = raw.get("event")
    try:
        if kind == "message_created":
            return MessageEvent.model_validate(raw)
        if isinstance(kind, str) and kind in REVISION_EVENTS:
            return RevisionEvent.model_validate(raw)
        # An `event` that is a list or object would not even hash; it is just not supported.
        if isinstance(kind, str) and kind in SUPPORTED_EVENTS:
            return ConversationEvent.model_validate(raw)
        return UnsupportedEvent.model_validate({**raw, "conversationKey": conversation_key})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidEvent("invalid_schema", f"{where}: {first['msg']}", envelope=envelope) from exc
