"""The error tree every API client raises, once for all of them.

Each API's package names its own classes, reasons and docstrings in its `errors` module;
the behaviour lives here, in bases it mixes in behind its own:

* ApiError                 .reason (stable snake_case code), .transient, .maybe_applied,
  |                        .retry_after (seconds to wait first, when known)
  x Throttled              not sent: the tenant's budget would hold it too long; transient
  x RequestError           no response (timeout, connect, protocol): transient
  x StatusError            an answer that says no: .status, .body_excerpt
    + AuthError      401/403  .forbidden
    + RateLimited    429      .retry_after; transient
    + NotFound       404
    + Rejected       other 4xx
    + ServerError    5xx      transient
    + ResponseError  2xx whose body we cannot read

An API's classes put the shared base first and its own family base second, e.g.
`class AcmeNotFound(NotFound[Reason], AcmeStatusError)`, so `except AcmeError` catches all
of that API's and the behaviour is the shared one. That module is the one map from the API's
failures to reasons: each class's `reason`, and its `park_reason` (why an event may wait
when the failure outlasts the retries). `ErrorFamily` maps a status to an API's
class: the one place that does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from schemas.audit import Reason

R = TypeVar("R", bound=str)
E = TypeVar("E", bound="StatusError[Any]")

BODY_EXCERPT_CHARS = 300


class ApiError(Exception, Generic[R]):
    """Base of every error an API client raises; nothing above a client sees httpx."""

    # Names the API in messages ("Acme answered 500 to ...").
    api: ClassVar[str] = "the API"
    # What a Throttled error says was spent.
    budget: ClassVar[str] = "request budget"
    reason: R
    # Why an event may wait for this failure to clear (`apiclient.retry.GiveUp.park`): an
    # audit reason, named by each API's errors.
    park_reason: Reason
    transient: bool = False
    retry_after: float | None = None

    def __init__(self, message: str, *, method: str, path: str, maybe_applied: bool = False):
        super().__init__(message)
        self.method = method
        # The path template ("/resources/conversations/{id}"), never one with ids in it.
        self.path = path
        self.maybe_applied = maybe_applied


class Throttled(ApiError[R]):
    """Not sent: waiting for the tenant's request budget would take longer than allowed."""

    transient = True

    def __init__(self, *, method: str, path: str, retry_after: float | None):
        super().__init__(
            f"{method} {path} not sent: the tenant's {self.budget} is spent",
            method=method,
            path=path,
        )
        self.retry_after = retry_after


class RequestError(ApiError[R]):
    """No response arrived: timeout, refused connection, broken protocol. Worth retrying."""

    transient = True

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        reason: R | None = None,
        maybe_applied: bool = False,
    ):
        super().__init__(message, method=method, path=path, maybe_applied=maybe_applied)
        if reason is not None:
            self.reason = reason


class StatusError(ApiError[R]):
    """The API answered, and the answer is not what we asked for."""

    def __init__(
        self,
        status: int,
        *,
        method: str,
        path: str,
        body_excerpt: str = "",
        maybe_applied: bool = False,
    ):
        super().__init__(
            f"{self.api} answered {status} to {method} {path}",
            method=method,
            path=path,
            maybe_applied=maybe_applied,
        )
        self.status = status
        self.body_excerpt = body_excerpt


class AuthError(StatusError[R]):
    """401/403: the tenant's key is wrong, revoked, or lacks access."""

    @property
    def forbidden(self) -> bool:
        """True for 403 (key known but not allowed), False for 401 (key not accepted)."""
        return self.status == 403


class RateLimited(StatusError[R]):
    """429: over the tenant's request budget; wait `retry_after` seconds when known."""

    transient = True

    def __init__(
        self,
        status: int,
        *,
        method: str,
        path: str,
        body_excerpt: str = "",
        retry_after: float | None = None,
    ):
        # A 429 means the request was turned away before doing anything.
        super().__init__(status, method=method, path=path, body_excerpt=body_excerpt)
        self.retry_after = retry_after


class NotFound(StatusError[R]):
    """404: the record (or, for a wrong base URL, the whole API) is not there."""


class Rejected(StatusError[R]):
    """Any other 4xx: the request itself needs fixing; repeating it will not help."""


class ServerError(StatusError[R]):
    """5xx: the API failed."""

    transient = True


class ResponseError(StatusError[R]):
    """A 2xx whose body we cannot read."""


@dataclass(frozen=True)
class ErrorFamily(Generic[R, E]):
    """One API's error classes, and what its failures mean.

    `writes`: some of the API's calls write (POSTs that are not queries), so a POST that may
    have reached the server is `maybe_applied`. The request reasons say why no answer came
    (None: the API's RequestError's own reason).
    """

    status: type[E]
    auth: type[E]
    rate_limited: type[E]
    not_found: type[E]
    rejected: type[E]
    server: type[E]
    response: type[E]
    throttled: type[Throttled[R]]
    request: type[RequestError[R]]
    writes: bool
    unreachable: R | None = None
    timeout: R | None = None
    transport: R | None = None

    def class_for_status(self, status: int) -> type[E]:
        """The one place that maps an HTTP status to an error class."""
        if status in (401, 403):
            return self.auth
        if status == 429:
            return self.rate_limited
        if status == 404:
            return self.not_found
        if 400 <= status < 500:
            return self.rejected
        if status >= 500:
            return self.server
        if 200 <= status < 300:
            return self.response
        return self.status

    def status_error(
        self,
        status: int,
        *,
        method: str,
        path: str,
        body_excerpt: str = "",
        retry_after: float | None = None,
    ) -> E:
        """The error for a response with `status`; POSTs that may have landed say so."""
        cls = self.class_for_status(status)
        if status == 429:
            # Turned away before doing anything: never maybe_applied; wait as the server says.
            limited = cls(status, method=method, path=path, body_excerpt=body_excerpt)
            limited.retry_after = retry_after
            return limited
        maybe_applied = self.writes and method == "POST" and cls in (self.server, self.response)
        return cls(
            status, method=method, path=path, body_excerpt=body_excerpt, maybe_applied=maybe_applied
        )


def excerpt(text: str, *, secrets: tuple[str, ...] = ()) -> str:
    """A short, log-safe copy of a response body, with any of our `secrets` scrubbed out."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    if len(text) > BODY_EXCERPT_CHARS:
        return text[:BODY_EXCERPT_CHARS] + "..."
    return text
