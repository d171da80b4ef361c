"""The Vitally REST client: one instance and connection pool for every tenant.

Each call takes the tenant's `VitallyTarget`, so credentials travel with the call. httpx
exceptions are translated here, once, into the tree in `vitally.errors`. GETs are retried per
the `RetryPolicy`; POSTs only when the request certainly never took effect (connect error, 429),
because Vitally has no idempotency key: after a maybe-applied create, the caller looks the
conversation up by externalId in the list (`processors.conversation_index`) before posting again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from http.cookiejar import CookieJar
from typing import Any, Literal, Protocol, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from schemas.vitally import (
    ConversationCreate,
    MessageCreate,
    Page,
    VitallyAdmin,
    VitallyConversation,
    VitallyConversationSummary,
    VitallyMessage,
    VitallyUser,
)
from vitally._call import Call, request_error, retry_after
from vitally.calls import record_call
from vitally.errors import (
    VitallyError,
    VitallyNotFound,
    VitallyRequestError,
    VitallyThrottled,
    status_error,
)
from vitally.ratelimit import BudgetSpent, TenantRateLimiter
from vitally.retry import DEFAULT_RETRY, GiveUp, RetryPolicy
from vitally.target import VitallyTarget
from vitally.transport import VitallyTransport

SortBy = Literal["createdAt", "updatedAt"]
Params = Mapping[str, str | int]

Person = TypeVar("Person", VitallyUser, VitallyAdmin)

logger = logging.getLogger(__name__)

_USERS_PAGE = Page[VitallyUser]
_CONVERSATIONS_PAGE = Page[VitallyConversationSummary]
_ADMIN_PAGE = TypeAdapter(Page[VitallyAdmin])
_ADMIN = TypeAdapter(VitallyAdmin)


def build_http_client(timeout: float = 10.0, max_connections: int = 100) -> httpx.AsyncClient:
    """The shared HTTP client for all tenants, on aiohttp's connection pool (`VitallyTransport`).

    Every timeout stays well under Kafka's 60 s rebalance timeout, so one slow call cannot hold
    a partition through a rebalance. Redirects are not followed: a redirect would carry a
    tenant's key to a host it was not meant for. `timeout` bounds each phase and the whole call
    (`VitallyTransport`). Cookies are neither kept nor sent: tenants
    share this client and, in the EU, one host, so a cookie set in answer to one tenant's call
    would go out with the next tenant's. Idle connections are kept for reuse.
    """
    if not 0 < timeout <= 30:
        raise ValueError("timeout must be in (0, 30] seconds")
    return httpx.AsyncClient(
        transport=VitallyTransport(max_connections=max_connections, deadline_seconds=timeout),
        timeout=httpx.Timeout(connect=min(timeout, 5.0), read=timeout, write=timeout, pool=timeout),
        follow_redirects=False,
        cookies=_NoCookies(),
        headers={"User-Agent": "vitally-sync"},
    )


class CallObserver(Protocol):
    """Told, per tenant, whether Vitally answered: what the worker knows of each tenant's
    Vitally health (:mod:`streams.vitally_health`) without a call of its own."""

    def answered(self, tenant_id: str) -> None:
        """Vitally answered (any status but 5xx and 429)."""

    def unavailable(self, tenant_id: str, retry_after: float | None) -> None:
        """No answer, a 5xx, a 429, or the tenant's budget held the request back;
        ``retry_after``: seconds until the budget is free again, when known."""


class _NoCookies(CookieJar):
    """A jar that keeps nothing (and skips parsing what it would not keep)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


class VitallyClient:
    """Typed calls to Vitally's REST API for any tenant; raises only `VitallyError`s."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        limiter: TenantRateLimiter | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_concurrent: int | None = None,
        max_budget_wait: float | None = None,
        observer: CallObserver | None = None,
    ):
        self._http = http
        self._observer = observer
        self._limiter = limiter
        # A request the tenant's budget would hold longer is not sent (VitallyThrottled), so
        # its caller can park it instead of holding a partition, or a rebalance, that long.
        self._max_budget_wait = max_budget_wait
        self._retry = retry
        self._sleep = sleep
        # Requests past the pool's size wait here, not in the pool: the HTTP timeouts then
        # time Vitally, not the queue in front of it.
        self._slots: AbstractAsyncContextManager[Any] = (
            asyncio.Semaphore(max_concurrent) if max_concurrent else nullcontext()
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def find_user_by_email(self, target: VitallyTarget, email: str) -> VitallyUser | None:
        """The Vitally user with this email: an exact (case-insensitive) match if several."""
        call = Call(target, "GET", "/resources/users/search")
        response = await self._send_or_none(call, params={"email": email.strip()})
        if response is None:
            return None
        return _pick_by_email(call.decode(response, _USERS_PAGE).results, email)

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
            return call.validate(response, body, _ADMIN)
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

    async def add_message(
        self, target: VitallyTarget, conversation_id: str, body: MessageCreate
    ) -> VitallyMessage:
        """Append one message to a Vitally conversation (by its Vitally id)."""
        call = Call(
            target, "POST", "/resources/conversations/{id}/messages", {"id": conversation_id}
        )
        return call.decode(await self._send(call, json=_dump(body)), VitallyMessage)

    async def _send_or_none(
        self, call: Call, *, params: Params | None = None
    ) -> httpx.Response | None:
        """Like `_send`, but a 404 means "no such record": None."""
        try:
            return await self._send(call, params=params)
        except VitallyNotFound:
            return None

    async def _send(
        self, call: Call, *, params: Params | None = None, json: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Send `call`, retrying what the policy allows."""
        attempt = 1
        while True:
            try:
                return await self._attempt(call, params, json)
            except VitallyError as error:
                # The client cannot look a write up: one that may have landed is not repeated.
                decision = self._retry.decide(error, attempt, can_look_up=False)
                if isinstance(decision, GiveUp):
                    raise
                wait = decision.delay
                logger.warning(
                    "vitally retry %s %s in %.2fs",
                    call.method,
                    call.template,
                    wait,
                    extra=call.log_fields(attempt=attempt, reason=error.reason),
                )
                await self._sleep(wait)
                attempt += 1

    async def _attempt(
        self, call: Call, params: Params | None, json: dict[str, Any] | None
    ) -> httpx.Response:
        tenant = call.target.tenant_id
        if self._limiter is not None:
            try:
                await self._limiter.acquire(tenant, self._max_budget_wait)
            except BudgetSpent as spent:
                if self._observer is not None:
                    self._observer.unavailable(tenant, spent.retry_after)
                raise VitallyThrottled(
                    method=call.method, path=call.template, retry_after=spent.retry_after
                ) from None
        record_call()
        headers = {"Authorization": call.target.authorization, "Accept": "application/json"}
        try:
            async with self._slots:
                if self._http.is_closed:
                    # Closed at shutdown under a call that outlived Faust's drain: nothing sent.
                    raise VitallyRequestError(
                        "the HTTP client is closed",
                        method=call.method,
                        path=call.template,
                        reason="vitally_unreachable",
                    )
                response = await self._http.request(
                    call.method, call.url, params=params, json=json, headers=headers
                )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            # A misconfigured base URL is not Vitally's answer and will not heal by retrying.
            raise ValueError(f"invalid Vitally base URL for tenant {tenant}") from exc
        except httpx.RequestError as exc:
            error = request_error(exc, call)
            if self._observer is not None and not isinstance(exc, httpx.PoolTimeout):
                self._observer.unavailable(tenant, None)  # our own pool's queue is not Vitally
            logger.warning(
                "vitally %s %s failed: %s",
                call.method,
                call.template,
                type(exc).__name__,
                extra=call.log_fields(reason=error.reason),
            )
            raise error from exc
        status = response.status_code
        level = logging.DEBUG if response.is_success or status == 404 else logging.WARNING
        logger.log(
            level,
            "vitally %s %s -> %s",
            call.method,
            call.template,
            status,
            extra=call.log_fields(status=status),
        )
        if self._limiter is not None:
            self._limiter.observe(tenant, response.headers, status)
        if self._observer is not None:
            if status == 429 or status >= 500:
                self._observer.unavailable(tenant, retry_after(response.headers))
            else:
                self._observer.answered(tenant)
        if response.is_success:
            return response
        raise status_error(
            status,
            method=call.method,
            path=call.template,
            body_excerpt=call.excerpt(response),
            retry_after=retry_after(response.headers),
        )


def _dump(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(mode="json", by_alias=True, exclude_none=True)


def _pick_by_email(candidates: Sequence[Person], email: str) -> Person | None:
    wanted = email.strip().casefold()
    for candidate in candidates:
        if candidate.email is not None and candidate.email.strip().casefold() == wanted:
            return candidate
    return candidates[0] if candidates else None
