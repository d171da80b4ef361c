"""The Vitally REST client: one instance and connection pool for every tenant.

Each call takes the tenant's `VitallyTarget`, so credentials travel with the call. httpx
exceptions are translated once, into the tree in `vitally.errors`, by the send loop every API
client shares (`apiclient.client.ApiClient`). GETs are retried per
the `RetryPolicy`; POSTs only when the request certainly never took effect (connect error, 429),
because Vitally has no idempotency key: after a maybe-applied create, the caller looks the
conversation up by externalId in the list (`processors.conversation_index`) before posting again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, TypeAdapter

from apiclient.client import ApiClient
from apiclient.http import build_http_client as build_http_client
from schemas.vitally import (
    ConversationCreate,
    ConversationUpdate,
    MessageCreate,
    Page,
    VitallyAdmin,
    VitallyConversation,
    VitallyConversationSummary,
    VitallyMessage,
    VitallyUser,
)
from vitally._call import Call
from vitally.calls import record_call
from vitally.target import VitallyTarget

SortBy = Literal["createdAt", "updatedAt"]
Params = Mapping[str, str | int]

Person = TypeVar("Person", VitallyUser, VitallyAdmin)

logger = logging.getLogger(__name__)

_USERS_PAGE = Page[VitallyUser]
_CONVERSATIONS_PAGE = Page[VitallyConversationSummary]
_ADMIN_PAGE = TypeAdapter(Page[VitallyAdmin])
_ADMIN = TypeAdapter(VitallyAdmin)


class VitallyClient(ApiClient):
    """Typed calls to Vitally's REST API for any tenant; raises only `VitallyError`s."""

    logger = logger

    def _sent(self) -> None:
        record_call()

    async def find_user_by_email(self, target: VitallyTarget, email: str) -> VitallyUser | None:
        """The Vitally user with this email: an exact (case-insensitive) match if several."""
        call = Call(target, "GET", "/resources/users/search")
        response = await self._send_or_none(call, params={"email": email.strip()})
        if response is None:
            return None
        return pick_user(call.decode(response, _USERS_PAGE).results, email)

    async def find_admin_by_email(self, target: VitallyTarget, email: str) -> VitallyAdmin | None:
        """The Vitally admin (teammate) with this email, or None."""
        call = Call(target, "GET", "/resources/admins/search")
        response = await self._send_or_none(call, params={"email": email.strip()})
        if response is None:
            return None
        body = call.json(response)
        # Documented to return one object; some clients expect {"results": [...]}: take both.
        if isinstance(body, dict) and isinstance(body.get("results"), list):
            return _pick_by_email(call.validate(response, body, _ADMIN_PAGE).results, email)
        if isinstance(body, dict) and body.get("id"):
            # Checked like a user result: an admin with another email is someone else.
            return _pick_by_email([call.validate(response, body, _ADMIN)], email)
        if body in ({}, None):
            return None
        raise call.unreadable(response)

    async def list_users(self, target: VitallyTarget, limit: int = 1) -> list[VitallyUser]:
        """A few users; cheap enough to check that a tenant's key and host work."""
        call = Call(target, "GET", "/resources/users")
        response = await self._send(call, params={"limit": limit})
        return call.decode(response, _USERS_PAGE).results

    async def list_conversations(
        self,
        target: VitallyTarget,
        limit: int = 100,
        cursor: str | None = None,
        sort_by: SortBy = "createdAt",
    ) -> Page[VitallyConversationSummary]:
        """One page of conversations, newest first; `cursor` is the previous page's `next`."""
        params: dict[str, str | int] = {"limit": limit, "sortBy": sort_by}
        if cursor:
            params["from"] = cursor
        call = Call(target, "GET", "/resources/conversations")
        return call.decode(await self._send(call, params=params), _CONVERSATIONS_PAGE)

    async def get_conversation(
        self, target: VitallyTarget, conversation_id: str
    ) -> VitallyConversation | None:
        """One conversation with its messages, or None when Vitally does not know the id."""
        call = Call(target, "GET", "/resources/conversations/{id}", {"id": conversation_id})
        response = await self._send_or_none(call)
        return None if response is None else call.decode(response, VitallyConversation)

    async def create_conversation(
        self, target: VitallyTarget, body: ConversationCreate
    ) -> VitallyConversation:
        """Create a conversation with its first message(s).

        On a maybe-applied failure (timeout, 5xx, unreadable 2xx) this raises rather than
        re-posting; look the conversation up by externalId before trying again.
        """
        call = Call(target, "POST", "/resources/conversations")
        return call.decode(await self._send(call, json=_dump(body)), VitallyConversation)

    async def update_conversation(
        self, target: VitallyTarget, conversation_id: str, body: ConversationUpdate
    ) -> None:
        """Change a conversation's subject, traits or messages (by its Vitally id); traits
        merge, and messages are updated by their externalId.

        A PUT is idempotent, so it is retried like a read. Raises VitallyNotFound when
        Vitally no longer has the conversation.
        """
        call = Call(target, "PUT", "/resources/conversations/{id}", {"id": conversation_id})
        await self._send(call, json=body.body())

    async def delete_conversation(self, target: VitallyTarget, conversation_id: str) -> bool:
        """Delete a conversation and its messages; False when Vitally had no such conversation
        (already deleted: deleting is idempotent, so that is not an error)."""
        call = Call(target, "DELETE", "/resources/conversations/{id}", {"id": conversation_id})
        return await self._send_or_none(call) is not None

    async def delete_message(self, target: VitallyTarget, message_id: str) -> bool:
        """Delete one message (by its Vitally id); False when Vitally had no such message
        (already deleted: deleting is idempotent, so that is not an error)."""
        call = Call(target, "DELETE", "/resources/messages/{id}", {"id": message_id})
        return await self._send_or_none(call) is not None

    async def add_message(
        self, target: VitallyTarget, conversation_id: str, body: MessageCreate
    ) -> VitallyMessage:
        """Append one message to a Vitally conversation (by its Vitally id)."""
        call = Call(
            target, "POST", "/resources/conversations/{id}/messages", {"id": conversation_id}
        )
        return call.decode(await self._send(call, json=_dump(body)), VitallyMessage)


def _dump(body: BaseModel) -> bytes:
    # Encoded once, by pydantic (no dict in between for httpx to encode again).
    return body.model_dump_json(by_alias=True, exclude_none=True).encode()


def pick_user(candidates: Sequence[VitallyUser], email: str) -> VitallyUser | None:
    """The user a message with this email is from. Several users may share an email (one per
    account, say); then, so that every message of a thread goes to the same one, the rule is:
    users not deactivated first, then the one Vitally created first (``createdAt``; one
    without a time after those with one), then the lowest id. ``same_email`` says how many
    there were."""
    wanted = email.strip().casefold()
    exact = [c for c in candidates if c.email and c.email.strip().casefold() == wanted]
    if len(exact) <= 1:
        return _pick_by_email(candidates, email)
    never = datetime.max.replace(tzinfo=UTC)
    chosen = min(
        exact,
        key=lambda u: (u.deactivated_at is not None, u.created_at or never, u.id),
    )
    return chosen.model_copy(update={"same_email": len(exact)})


def _pick_by_email(candidates: Sequence[Person], email: str) -> Person | None:
    """The search result with exactly that email. A search may match loosely: a result with
    another email is someone else, and a message must never go to them. Only a lone result
    that shows no email at all is taken as the match."""
    wanted = email.strip().casefold()
    for candidate in candidates:
        if candidate.email is not None and candidate.email.strip().casefold() == wanted:
            return candidate
    if len(candidates) == 1 and candidates[0].email is None:
        return candidates[0]
    return None
