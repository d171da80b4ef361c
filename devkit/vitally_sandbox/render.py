"""Records as JSON, in the shapes Vitally documents (camelCase, ISO-8601 `...Z` timestamps)."""

from __future__ import annotations

from typing import Any

from sandboxkit.clock import to_iso

from vitally_sandbox.state import Admin, Conversation, Message, Org, Participant, User


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "createdAt": to_iso(user.created_at),
        "updatedAt": to_iso(user.created_at),
        "externalId": user.external_id,
        "name": user.name,
        "email": user.email,
        "avatar": None,
        "traits": user.traits,
        "accountIds": [],
        "organizationIds": [],
        "deactivatedAt": None if user.deactivated_at is None else to_iso(user.deactivated_at),
        "unsubscribedFromConversations": False,
    }


def admin_json(admin: Admin) -> dict[str, Any]:
    return {
        "id": admin.id,
        "name": admin.name,
        "email": admin.email,
        "licenseStatus": admin.license_status,
    }


def participant_json(participant: Participant) -> dict[str, str]:
    return {"type": participant.type, "id": participant.id}


def message_json(message: Message, *, control: bool = False) -> dict[str, Any]:
    """`control` adds what only the control API shows: `receivedAt`, when the sandbox stored it."""
    body: dict[str, Any] = {
        "id": message.id,
        "type": message.type,
        "externalId": message.external_id,
        "conversationId": message.conversation_id,
        "message": message.message,
        "timestamp": to_iso(message.timestamp),
        "from": participant_json(message.sender),
        "to": [participant_json(p) for p in message.to],
        "cc": [participant_json(p) for p in message.cc],
        "bcc": [participant_json(p) for p in message.bcc],
    }
    if control:
        body["receivedAt"] = to_iso(message.received_at)
    return body


def conversation_json(
    conversation: Conversation, *, messages: bool, control: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": conversation.id,
        "externalId": conversation.external_id,
        "subject": conversation.subject,
        "traits": conversation.traits,
        "createdAt": to_iso(conversation.created_at),
        "updatedAt": to_iso(conversation.updated_at),
    }
    if messages:
        body["messages"] = [message_json(m, control=control) for m in conversation.messages]
    return body


def org_json(org: Org, *, rate_limit: int) -> dict[str, Any]:
    """The control API's view of an org, tokens included: it is for tests, not for clients."""
    return {
        "subdomain": org.subdomain,
        "tokens": [{"token": t, "scopes": sorted(s)} for t, s in org.tokens.items()],
        "rateLimit": rate_limit,
        "users": [user_json(u) for u in org.users.values()],
        "admins": [admin_json(a) for a in org.admins.values()],
    }
