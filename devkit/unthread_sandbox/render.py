"""Records as Unthread's API answers them, with related users expanded."""

from __future__ import annotations

from typing import Any

from unthread_sandbox.state import Tenant

# Sandbox-only seed fields that name what to expand; Unthread never answers them.
_SEED_ONLY = ("submitterUserId",)


def user_json(user: dict[str, Any]) -> dict[str, Any]:
    return {name: user.get(name) for name in ("id", "name", "email", "slackId", "photo")}


def conversation_json(tenant: Tenant, stored: dict[str, Any]) -> dict[str, Any]:
    """The conversation with `submitterUser`, `assignedToUser` and its initial message's
    authors expanded from the tenant's users, unless the seed gave those objects."""
    body = {k: v for k, v in stored.items() if k not in _SEED_ONLY}
    _expand(body, "submitterUser", tenant.user_by("id", stored.get("submitterUserId")))
    _expand(body, "assignedToUser", tenant.user_by("id", stored.get("assignedToUserId")))
    initial = stored.get("initialMessage")
    if isinstance(initial, dict):
        body["initialMessage"] = message_json(tenant, {"conversationId": stored["id"], **initial})
    return body


def message_json(tenant: Tenant, stored: dict[str, Any]) -> dict[str, Any]:
    """The message with its author (`user`, by Slack id) and sender (`sentByUser`) expanded."""
    message = dict(stored)
    _expand(message, "user", tenant.user_by("slackId", stored.get("userId")))
    _expand(message, "sentByUser", tenant.user_by("id", stored.get("sentByUserId")))
    return message


def _expand(body: dict[str, Any], name: str, user: dict[str, Any] | None) -> None:
    if body.get(name) is None:
        body[name] = user_json(user) if user is not None else None
