"""The Unthread REST client: one instance and connection pool for every tenant.

Each call takes the tenant's `UnthreadTarget`, so keys travel with the call. httpx exceptions
are translated here, once, into the tree in `unthread.errors`. Every call is a read, so every
transient failure is retried per the shared `RetryPolicy`, and each tenant is paced by its own
bucket in a `TenantRateLimiter` (Unthread documents no limit: see `default_limiter`).
Logs name the tenant, the endpoint template and the status; never the key, ids or bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from schemas.events import Conversation
from schemas.unthread import ListPage, UnthreadUser
from unthread.errors import (
    UnthreadError,
    UnthreadNotFound,
    UnthreadRequestError,
    UnthreadThrottled,
    status_error,
)
from unthread.target import UnthreadTarget
from vitally.client import build_http_client as _build_pooled_client
from vitally.errors import excerpt
from vitally.ratelimit import BudgetSpent, TenantRateLimiter, parse_seconds
from vitally.retry import GiveUp, RetryPolicy

Method = Literal["GET", "POST"]
M = TypeVar("M", bound=BaseModel)

logger = logging.getLogger(__name__)

# Unthread documents no rate limit. Until it does, each tenant is paced well under what a
# webhook burst needs, and a 429 (with Retry-After, if sent) parks that tenant's calls.
DEFAULT_LIMIT_PER_MINUTE = 300
# Enrichment sits in front of a Vitally write: fewer, shorter retries than Vitally's own.
DEFAULT_RETRY = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=10.0)
_USERS_PAGE = ListPage[UnthreadUser]


def build_http_client(timeout: float = 10.0, max_connections: int = 50) -> httpx.AsyncClient:
    """The shared HTTP client for all tenants' Unthread calls.

    Built exactly as Vitally's (`vitally.client.build_http_client`: aiohttp's pool, a deadline
    on the whole call, no redirects, no cookies), but a pool of its own, so lookups never
    queue behind Vitally writes.
    """
    return _build_pooled_client(timeout=timeout, max_connections=max_connections)


def default_limiter() -> TenantRateLimiter:
    return TenantRateLimiter(default_limit=DEFAULT_LIMIT_PER_MINUTE, default_window=60.0)


@dataclass(frozen=True)
class _Call:
    target: UnthreadTarget
    method: Method
    template: str
    ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        path = self.template.format_map({k: quote(v, safe="") for k, v in self.ids.items()})
        return self.target.base_url + path

    def log_fields(self, **fields: object) -> dict[str, object]:
        base: dict[str, object] = {
            "unthread_tenant": self.target.tenant_id,
            "unthread_method": self.method,
            "unthread_path": self.template,
        }
        base.update({f"unthread_{name}": value for name, value in fields.items()})
        return base

    def decode(self, response: httpx.Response, model: type[M]) -> M:
        try:
            return model.model_validate_json(response.content)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise status_error(
                response.status_code,
                method=self.method,
                path=self.template,
                body_excerpt=excerpt(response.text, secrets=(self.target.api_key,)),
            ) from exc


class UnthreadClient:
    """Typed reads from Unthread's REST API for any tenant; raises only `UnthreadError`s."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        limiter: TenantRateLimiter | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_budget_wait: float | None = None,
    ):
        self._http = http
        self._limiter = limiter
        self._retry = retry
        self._sleep = sleep
        # A call the tenant's budget would hold longer is not sent (UnthreadThrottled), so
        # the caller can park the event instead of holding a partition.
        self._max_budget_wait = max_budget_wait

    async def aclose(self) -> None:
        await self._http.aclose()

    async def list_users(
        self,
        target: UnthreadTarget,
        *,
        where: list[dict[str, Any]] | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> ListPage[UnthreadUser]:
        """One page of `POST /users/list`; `cursor` is the previous page's `cursors.next`."""
        body: dict[str, Any] = {"where": where or [], "limit": limit}
        if cursor:
            body["cursor"] = cursor
        call = _Call(target, "POST", "/users/list")
        return call.decode(await self._send(call, json=body), _USERS_PAGE)

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
        try:
            response = await self._send(call)
        except UnthreadNotFound:
            return None
        return call.decode(response, Conversation)

    async def validate_key(self, target: UnthreadTarget) -> None:
        """Check at connect time that the key opens a workspace: the cheapest authenticated
        read (one user). Raises `UnthreadAuthError` for a refused key, or another
        `UnthreadError` when Unthread cannot say."""
        await self.list_users(target, limit=1)

    async def _one_user(
        self, target: UnthreadTarget, field_name: str, value: str
    ) -> UnthreadUser | None:
        where = [{"field": field_name, "operator": "==", "value": value}]
        page = await self.list_users(target, where=where, limit=2)
        # Filtered server-side; checked again so a server that ignores `where` cannot hand us
        # somebody else.
        matches = [u for u in page.data if _field(u, field_name) == value]
        return matches[0] if matches else None

    async def _send(self, call: _Call, *, json: dict[str, Any] | None = None) -> httpx.Response:
        attempt = 1
        while True:
            try:
                return await self._attempt(call, json)
            except UnthreadError as error:
                # Every call is a read: nothing to look up before repeating it.
                decision = self._retry.decide(error, attempt, can_look_up=True)
                if isinstance(decision, GiveUp):
                    raise
                wait = decision.delay
                logger.warning(
                    "unthread retry %s %s in %.2fs",
                    call.method,
                    call.template,
                    wait,
                    extra=call.log_fields(attempt=attempt, reason=error.reason),
                )
                await self._sleep(wait)
                attempt += 1

    async def _attempt(self, call: _Call, json: dict[str, Any] | None) -> httpx.Response:
        tenant = call.target.tenant_id
        if self._limiter is not None:
            try:
                await self._limiter.acquire(tenant, self._max_budget_wait)
            except BudgetSpent as spent:
                raise UnthreadThrottled(
                    method=call.method, path=call.template, retry_after=spent.retry_after
                ) from None
        headers = {"X-Api-Key": call.target.api_key, "Accept": "application/json"}
        try:
            response = await self._http.request(call.method, call.url, json=json, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            # A misconfigured base URL is not Unthread's answer and will not heal by retrying.
            raise ValueError(f"invalid Unthread base URL for tenant {tenant}") from exc
        except httpx.RequestError as exc:
            logger.warning(
                "unthread %s %s failed: %s",
                call.method,
                call.template,
                type(exc).__name__,
                extra=call.log_fields(reason="unthread_unavailable"),
            )
            raise UnthreadRequestError(
                f"{type(exc).__name__} on {call.method} {call.template}",
                method=call.method,
                path=call.template,
            ) from exc
        status = response.status_code
        level = logging.DEBUG if response.is_success or status == 404 else logging.WARNING
        logger.log(
            level,
            "unthread %s %s -> %s",
            call.method,
            call.template,
            status,
            extra=call.log_fields(status=status),
        )
        if self._limiter is not None:
            self._limiter.observe(tenant, response.headers, status)
        if response.is_success:
            return response
        raise status_error(
            status,
            method=call.method,
            path=call.template,
            body_excerpt=excerpt(response.text, secrets=(call.target.api_key,)),
            retry_after=parse_seconds(response.headers.get("Retry-After")),
        )


def _field(user: UnthreadUser, name: str) -> str | None:
    return user.slack_id if name == "slackId" else user.id
