"""The send loop every API client runs: pace, send, map what went wrong, retry.

One instance and connection pool serve every tenant; each call carries its tenant's target.
httpx exceptions are translated here, once, into the API's error tree (`ApiCall.errors`).
A client retries per the `RetryPolicy` only what certainly never took effect or cannot have
changed anything: it cannot look a write up, so a write that may have landed is not repeated
(its caller looks it up first). Logs name the tenant, the endpoint template and the status;
never the credential, ids or bodies.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from json import dumps
from typing import Any, ClassVar, Protocol

import httpx

from apiclient.call import ApiCall
from apiclient.errors import ApiError, NotFound
from apiclient.http import Params, send
from apiclient.pacing import BudgetSpent, Pacer
from apiclient.priority import in_background
from apiclient.retry import DEFAULT_RETRY, GiveUp, RetryPolicy

# A request's JSON body, or the body already encoded (a model's own dump, done once).
JsonBody = Mapping[str, Any] | bytes
_JSON = {"Content-Type": "application/json"}


class CallObserver(Protocol):
    """Told of every request the client sends and every wait for a tenant's budget: the
    metrics, and what the worker knows of each tenant's API health without a call of its own
    (the worker's per-tenant health tracking)."""

    def called(
        self,
        tenant_id: str,
        endpoint: str,
        status: int | None,
        seconds: float,
        retry_after: float | None,
    ) -> None:
        """``endpoint``: the method and path template; ``status``: None when no answer came
        (a request that never left, waiting for our own pool, is not reported);
        ``retry_after``: the answer's advice, when it gave one."""
        ...

    def budget_waited(self, seconds: float) -> None: ...

    def throttled(self, tenant_id: str, retry_after: float | None) -> None:
        """A request was not sent: the tenant's budget would have held it too long."""
        ...


class Observers:
    """Several observers as one."""

    def __init__(self, *observers: CallObserver) -> None:
        self._observers = observers

    def called(
        self,
        tenant_id: str,
        endpoint: str,
        status: int | None,
        seconds: float,
        retry_after: float | None,
    ) -> None:
        for observer in self._observers:
            observer.called(tenant_id, endpoint, status, seconds, retry_after)

    def budget_waited(self, seconds: float) -> None:
        for observer in self._observers:
            observer.budget_waited(seconds)

    def throttled(self, tenant_id: str, retry_after: float | None) -> None:
        for observer in self._observers:
            observer.throttled(tenant_id, retry_after)


class ApiClient:
    """Sends `ApiCall`s for any tenant; raises only the call's API's errors (and ValueError for
    a base URL that is not one)."""

    # The API's own logger, so its records keep the API's name.
    logger: ClassVar[logging.Logger] = logging.getLogger(__name__)
    # A call under a closed HTTP client (shutdown) fails as unreachable instead of httpx's
    # RuntimeError.
    check_closed: ClassVar[bool] = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        limiter: Pacer | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_concurrent: int | None = None,
        max_budget_wait: float | None = None,
        observer: CallObserver | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._http = http
        self._observer = observer
        self._monotonic = monotonic
        self._limiter = limiter
        # A request the tenant's budget would hold longer is not sent (a Throttled error), so
        # its caller can park it instead of holding a partition, or a rebalance, that long.
        self._max_budget_wait = max_budget_wait
        self._retry = retry
        self._sleep = sleep
        # Requests past the pool's size wait here, not in the pool: the HTTP timeouts then
        # time the API, not the queue in front of it.
        self._slots: AbstractAsyncContextManager[Any] = (
            asyncio.Semaphore(max_concurrent) if max_concurrent else nullcontext()
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _sent(self) -> None:
        """Called once per HTTP request the client sends (a client may count them)."""

    async def _send_or_none(
        self, call: ApiCall[Any], *, params: Params | None = None
    ) -> httpx.Response | None:
        """Like `_send`, but a 404 means "no such record": None."""
        try:
            return await self._send(call, params=params)
        except NotFound:
            return None

    async def _send(
        self,
        call: ApiCall[Any],
        *,
        params: Params | None = None,
        json: JsonBody | None = None,
    ) -> httpx.Response:
        """Send `call`, retrying what the policy allows."""
        attempt = 1
        while True:
            try:
                return await self._attempt(call, params, json)
            except ApiError as error:
                # The client cannot look a write up: one that may have landed is not repeated.
                decision = self._retry.decide(error, attempt, can_look_up=False)
                if isinstance(decision, GiveUp):
                    raise
                wait = decision.delay
                self.logger.warning(
                    f"{call.api} retry %s %s in %.2fs",
                    call.method,
                    call.template,
                    wait,
                    extra=call.log_fields(attempt=attempt, reason=error.reason),
                )
                await self._sleep(wait)
                attempt += 1

    async def _attempt(
        self, call: ApiCall[Any], params: Params | None, json: JsonBody | None
    ) -> httpx.Response:
        tenant = call.target.tenant_id
        if self._limiter is not None:
            queued = self._monotonic()
            try:
                await self._limiter.acquire(
                    tenant, self._max_budget_wait, background=in_background()
                )
            except BudgetSpent as spent:
                if self._observer is not None:
                    self._observer.throttled(tenant, spent.retry_after)
                raise call.errors.throttled(
                    method=call.method, path=call.template, retry_after=spent.retry_after
                ) from None
            if self._observer is not None:
                self._observer.budget_waited(self._monotonic() - queued)
        self._sent()
        endpoint = f"{call.method} {call.template}"
        started = self._monotonic()
        try:
            async with self._slots:
                if self.check_closed and self._http.is_closed:
                    # Closed at shutdown under a call that outlived Faust's drain: nothing sent.
                    raise call.closed_error()
                headers = call.headers() if json is None else {**call.headers(), **_JSON}
                response = await send(
                    self._http, call.method, call.url, params=params, headers=headers,
                    content=_encoded(json),
                )  # fmt: skip
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            # A misconfigured base URL is not the API's answer and will not heal by retrying.
            api = call.errors.status.api
            raise ValueError(f"invalid {api} base URL for tenant {tenant}") from exc
        except httpx.RequestError as exc:
            # Waiting for our own pool is not the API's answer.
            if self._observer is not None and not isinstance(exc, httpx.PoolTimeout):
                seconds = self._monotonic() - started
                self._observer.called(tenant, endpoint, None, seconds, None)
            error = call.request_error(exc)
            self.logger.warning(
                f"{call.api} %s %s failed: %s",
                call.method,
                call.template,
                type(exc).__name__,
                extra=call.log_fields(reason=error.reason),
            )
            raise error from exc
        status = response.status_code
        advice = call.retry_after(response.headers)
        if self._observer is not None:
            seconds = self._monotonic() - started
            self._observer.called(tenant, endpoint, status, seconds, advice)
        level = logging.DEBUG if response.is_success or status == 404 else logging.WARNING
        if self.logger.isEnabledFor(level):  # its fields are built only for a log that is kept
            self.logger.log(
                level,
                f"{call.api} %s %s -> %s",
                call.method,
                call.template,
                status,
                extra=call.log_fields(status=status),
            )
        if self._limiter is not None:
            self._limiter.observe(tenant, response.headers, status)
        if response.is_success:
            return response
        raise call.status_error(response, retry_after=advice)


def _encoded(body: JsonBody | None) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    # As httpx would encode it, given as bytes so that a model's own dump needs no second pass.
    return dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
