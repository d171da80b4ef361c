"""The Unthread REST client: one instance and connection pool for every tenant.

Each call takes the tenant's `UnthreadTarget`, so keys travel with the call. httpx exceptions
are translated once, into the tree in `unthread.errors`, by the send loop every API client
shares (`apiclient.client.ApiClient`). Every call is a read, so every
transient failure is retried per the shared `RetryPolicy`, and each tenant is paced by its own
bucket in a `TenantRateLimiter` (Unthread documents no limit: see `default_limiter`).
Logs name the tenant, the endpoint template and the status; never the key, ids or bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from apiclient.call import ApiCall
from apiclient.client import ApiClient, CallObserver
from apiclient.http import build_http_client as _build_pooled_client
from apiclient.ratelimit import TenantRateLimiter, parse_seconds
from apiclient.retry import RetryPolicy
from schemas.events import Conversation
from schemas.unthread import ConversationPage, ListPage, ListQuery, MessagePage, UnthreadUser
from unthread.errors import ERRORS
from unthread.target import UnthreadTarget

logger = logging.getLogger(__name__)

# Unthread documents no rate limit. Until it does, each tenant is paced well under what a
# webhook burst needs, and a 429 (with Retry-After, if sent) parks that tenant's calls.
DEFAULT_LIMIT_PER_MINUTE = 300
# Enrichment sits in front of a Vitally write: fewer, shorter retries than Vitally's own.
DEFAULT_RETRY = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=10.0)
_USERS_PAGE = ListPage[UnthreadUser]
P = TypeVar("P", bound=ListPage[Any])


def build_http_client(timeout: float = 10.0, max_connections: int = 50) -> httpx.AsyncClient:
    """The shared HTTP client for all tenants' Unthread calls.

    Built as Vitally's (`apiclient.http.build_http_client`: aiohttp's pool, a deadline on the
    whole call, no redirects, no cookies), but a pool of its own, so lookups never queue
    behind Vitally writes.
    """
    return _build_pooled_client(timeout=timeout, max_connections=max_connections)


def default_limiter(background_share: float = 1.0) -> TenantRateLimiter:
    """`background_share`: of each tenant's budget, the most the import's and reconciliation's
    calls take (`apiclient.ratelimit`)."""
    return TenantRateLimiter(
        default_limit=DEFAULT_LIMIT_PER_MINUTE, default_window=60.0,
        background_share=background_share,
    )  # fmt: skip


class _Call(ApiCall[UnthreadTarget]):
    """One logical Unthread call (`apiclient.call.ApiCall`)."""

    api = "unthread"
    errors = ERRORS

    def headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.target.api_key, "Accept": "application/json"}

    def secrets(self) -> tuple[str, ...]:
        return (self.target.api_key,)

    def retry_after(self, headers: httpx.Headers) -> float | None:
        return parse_seconds(headers.get("Retry-After"))


class UnthreadClient(ApiClient):
    """Typed reads from Unthread's REST API for any tenant; raises only `UnthreadError`s."""

    logger = logger
    # Unchanged from before the clients shared their loop: a call under a closed HTTP client
    # raises httpx's RuntimeError.
    check_closed = False

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        limiter: TenantRateLimiter | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_budget_wait: float | None = None,
        observer: CallObserver | None = None,
    ):
        super().__init__(
            http,
            limiter=limiter,
            retry=retry,
            sleep=sleep,
            max_budget_wait=max_budget_wait,
            observer=observer,
        )

    async def list_users(
        self,
        target: UnthreadTarget,
        *,
        where: list[dict[str, Any]] | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> ListPage[UnthreadUser]:
        """One page of `POST /users/list`; `cursor` is the previous page's `cursors.next`."""
        query = ListQuery(where=where or [], limit=limit, cursor=cursor)
        return await self._list(_Call(target, "POST", "/users/list"), query, _USERS_PAGE)

    async def list_conversations(
        self, target: UnthreadTarget, query: ListQuery
    ) -> ConversationPage:
        """One page of `POST /conversations/list` (import and reconciliation)."""
        call = _Call(target, "POST", "/conversations/list")
        return await self._list(call, query, ConversationPage)

    async def list_messages(
        self, target: UnthreadTarget, conversation_id: str, query: ListQuery
    ) -> MessagePage:
        """One page of `POST /conversations/{id}/messages/list`; an unknown conversation
        raises `UnthreadNotFound`."""
        call = _Call(target, "POST", "/conversations/{id}/messages/list", {"id": conversation_id})
        return await self._list(call, query, MessagePage)

    async def get_user_by_slack_id(
        self, target: UnthreadTarget, slack_id: str
    ) -> UnthreadUser | None:
        """The user whose Slack id is `slack_id` (a message's `userId`), or None."""
        return await self._one_user(target, "slackId", slack_id)

    async def get_user_by_id(self, target: UnthreadTarget, user_id: str) -> UnthreadUser | None:
        """The user with this Unthread id (a message's `sentByUserId`), or None."""
        return await self._one_user(target, "id", user_id)

    async def get_conversation(
        self, target: UnthreadTarget, conversation_id: str
    ) -> Conversation | None:
        """`GET /conversations/{id}`, or None when the workspace has no such conversation."""
        call = _Call(target, "GET", "/conversations/{id}", {"id": conversation_id})
        response = await self._send_or_none(call)
        return None if response is None else call.decode(response, Conversation)

    async def validate_key(self, target: UnthreadTarget) -> None:
        """Check at connect time that the key opens a workspace: the cheapest authenticated
        read (one user). Raises `UnthreadAuthError` for a refused key, or another
        `UnthreadError` when Unthread cannot say."""
        await self.list_users(target, limit=1)

    async def _list(self, call: _Call, query: ListQuery, page: type[P]) -> P:
        return call.decode(await self._send(call, json=query.body()), page)

    async def _one_user(
        self, target: UnthreadTarget, field_name: str, value: str
    ) -> UnthreadUser | None:
        where = [{"field": field_name, "operator": "==", "value": value}]
        page = await self.list_users(target, where=where, limit=2)
        # Filtered server-side; checked again so a server that ignores `where` cannot hand us
        # somebody else.
        matches = [u for u in page.data if _field(u, field_name) == value]
        return matches[0] if matches else None


def _field(user: UnthreadUser, name: str) -> str | None:
    return user.slack_id if name == "slackId" else user.id
