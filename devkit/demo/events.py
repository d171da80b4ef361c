"""Builders of Unthread events in the input topic's format (docs/interfaces.md, Input).

Used by the demo, the tests and the benchmark, so all of them speak exactly the format the
upstream bus produces: JSON values keyed by the conversation id.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def person(email: str | None, name: str | None = None) -> dict[str, Any] | None:
    if email is None:
        return None
    return {"id": "u_" + email.split("@")[0], "name": name or email.split("@")[0], "email": email}


def message(
    conversation_id: str,
    text: str,
    *,
    message_id: str | None = None,
    sender: str | None = None,
    external: bool | None = None,
    sent_by: str | None = None,
    at: datetime = EPOCH,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": message_id or f"m_{uuid.uuid4().hex[:12]}",
        "ts": f"{at.timestamp():.6f}",
        "conversationId": conversation_id,
        "text": text,
        "timestamp": iso(at),
        "userId": "U" + (sender or "anon").split("@")[0].upper(),
        "user": person(sender),
        "sentByUserId": person(sent_by)["id"] if sent_by else None,  # type: ignore[index]
        "sentByUser": person(sent_by),
        "isExternal": external,
        "isPrivateNote": False,
        "isAutoresponse": False,
        "botId": None,
        "botName": None,
        "files": [],
    }
    body.update(extra)
    return body


def conversation(
    conversation_id: str,
    *,
    title: str | None,
    submitter: str | None,
    assignee: str | None = None,
    initial: dict[str, Any] | None = None,
    created_at: datetime = EPOCH,
    status: str = "open",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": conversation_id,
        "friendlyId": abs(hash(conversation_id)) % 10_000,
        "title": title,
        "status": status,
        "priority": 5,
        "customerId": "cus_demo",
        "channelId": "C07DEMO",
        "createdAt": iso(created_at),
        "updatedAt": iso(created_at),
        "assignedToUserId": person(assignee)["id"] if assignee else None,  # type: ignore[index]
        "assignedToUser": person(assignee),
        "submitterUser": person(submitter),
        "tags": [{"id": "tag_1", "name": "support"}],
        "initialMessage": initial,
    }
    body.update(extra)
    return body


def envelope(
    tenant_id: str, event: str, data: dict[str, Any], *, at: datetime = EPOCH
) -> dict[str, Any]:
    millis = int(at.timestamp() * 1000)
    return {
        "tenantId": tenant_id,
        "event": event,
        "eventId": str(uuid.uuid4()),
        "eventTimestamp": millis,
        "webhookTimestamp": millis + 150,
        "data": data,
    }


@dataclass(frozen=True)
class Record:
    key: bytes
    value: bytes

    @classmethod
    def of(cls, conversation_id: str, event: dict[str, Any]) -> Record:
        return cls(conversation_id.encode(), json.dumps(event).encode())


def new_conversation(
    tenant_id: str,
    conversation_id: str,
    *,
    submitter: str,
    assignee: str | None,
    title: str | None,
    text: str,
    at: datetime = EPOCH,
) -> Record:
    initial = message(conversation_id, text, sender=submitter, external=True, at=at)
    data = conversation(
        conversation_id,
        title=title,
        submitter=submitter,
        assignee=assignee,
        initial=initial,
        created_at=at,
    )
    return Record.of(conversation_id, envelope(tenant_id, "conversation_created", data, at=at))


def reply(
    tenant_id: str,
    conversation_id: str,
    text: str,
    *,
    sender: str,
    support: bool,
    at: datetime = EPOCH,
    message_id: str | None = None,
    **extra: Any,
) -> Record:
    data = message(
        conversation_id,
        text,
        message_id=message_id,
        sender=sender,
        external=not support,
        at=at,
        **extra,
    )
    return Record.of(conversation_id, envelope(tenant_id, "message_created", data, at=at))


def later(at: datetime, seconds: float) -> datetime:
    return at + timedelta(seconds=seconds)
