"""What can go wrong when asking Unthread's REST API for what an event left out.

* UnthreadError                      .reason (stable snake_case code), .transient,
  |                                  .retry_after (seconds to wait first, when known)
  x UnthreadThrottled                not sent: the tenant's budget, or the block after a 429,
  |                                  would hold it longer than the client waits; reason
  |                                  "unthread_rate_limited", transient
  x UnthreadRequestError             no response (timeout, connect, protocol): reason
  |                                  "unthread_unavailable", transient
  x UnthreadStatusError              an answer that says no: .status, .body_excerpt
    + UnthreadAuthError      401/403 reason "unthread_auth_failed"; .forbidden
    + UnthreadRateLimited    429     reason "unthread_rate_limited"; .retry_after
    |                                (Retry-After, when sent); transient
    + UnthreadNotFound       404     reason "unthread_not_found"
    + UnthreadRejected       other 4xx (400, 409, 422, ...) reason "unthread_rejected"
    + UnthreadServerError    5xx     reason "unthread_unavailable", transient
    + UnthreadResponseError  2xx whose body we cannot read; reason "unthread_bad_response"
  (1xx/3xx answers raise a plain UnthreadStatusError, reason "unthread_unexpected_status":
   with redirects off, a 3xx means a wrong base URL, and following it would send the key
   elsewhere.)

Every call we make only reads (`POST /users/list` is a query), so nothing is ever
`maybe_applied` and every transient failure may be repeated.
`body_excerpt` is a truncated copy of what the server said, with the API key scrubbed out.
"""

from __future__ import annotations

from typing import Literal

Reason = Literal[
    "unthread_auth_failed",
    "unthread_bad_response",
    "unthread_not_found",
    "unthread_rate_limited",
    "unthread_rejected",
    "unthread_unavailable",
    "unthread_unexpected_status",
]


class UnthreadError(Exception):
    """Base of every error the Unthread client raises; nothing above the client sees httpx."""

    reason: Reason = "unthread_unavailable"
    transient: bool = False
    retry_after: float | None = None
    # Read by the shared RetryPolicy (vitally.retry.Retryable); our calls are all reads.
    maybe_applied: bool = False

    def __init__(self, message: str, *, method: str, path: str):
        super().__init__(message)
        self.method = method
        # The path template ("/conversations/{id}"), never one with ids in it.
        self.path = path


class UnthreadThrottled(UnthreadError):
    """Not sent: waiting for the tenant's request budget would take longer than allowed."""

    reason: Reason = "unthread_rate_limited"
    transient = True

    def __init__(self, *, method: str, path: str, retry_after: float | None):
        super().__init__(
            f"{method} {path} not sent: the tenant's Unthread budget is spent",
            method=method,
            path=path,
        )
        self.retry_after = retry_after


class UnthreadRequestError(UnthreadError):
    """No response arrived: timeout, refused connection, broken protocol. Worth retrying."""

    transient = True


class UnthreadStatusError(UnthreadError):
    """Unthread answered, and the answer is not what we asked for."""

    reason: Reason = "unthread_unexpected_status"

    def __init__(self, status: int, *, method: str, path: str, body_excerpt: str = ""):
        super().__init__(f"Unthread answered {status} to {method} {path}", method=method, path=path)
        self.status = status
        self.body_excerpt = body_excerpt


class UnthreadAuthError(UnthreadStatusError):
    """401/403: the tenant's Unthread key is wrong, revoked, or its service account disabled."""

    reason = "unthread_auth_failed"

    @property
    def forbidden(self) -> bool:
        """True for 403 (key known but not allowed), False for 401 (key not accepted)."""
        return self.status == 403


class UnthreadRateLimited(UnthreadStatusError):
    """429: over Unthread's (undocumented) limit; wait `retry_after` seconds when known."""

    reason = "unthread_rate_limited"
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
        super().__init__(status, method=method, path=path, body_excerpt=body_excerpt)
        self.retry_after = retry_after


class UnthreadNotFound(UnthreadStatusError):
    """404: no such record in the tenant's workspace (or a wrong base URL)."""

    reason = "unthread_not_found"


class UnthreadRejected(UnthreadStatusError):
    """Any other 4xx: the request itself needs fixing; repeating it will not help."""

    reason = "unthread_rejected"


class UnthreadServerError(UnthreadStatusError):
    """5xx: Unthread failed; a read is safe to repeat."""

    reason = "unthread_unavailable"
    transient = True


class UnthreadResponseError(UnthreadStatusError):
    """A 2xx whose body we cannot read."""

    reason = "unthread_bad_response"


def error_class_for_status(status: int) -> type[UnthreadStatusError]:
    """The one place that maps an HTTP status to an error class."""
    if status in (401, 403):
        return UnthreadAuthError
    if status == 429:
        return UnthreadRateLimited
    if status == 404:
        return UnthreadNotFound
    if 400 <= status < 500:
        return UnthreadRejected
    if status >= 500:
        return UnthreadServerError
    if 200 <= status < 300:
        return UnthreadResponseError
    return UnthreadStatusError


def status_error(
    status: int,
    *,
    method: str,
    path: str,
    body_excerpt: str = "",
    retry_after: float | None = None,
) -> UnthreadStatusError:
    """Build the error for a response with `status`."""
    cls = error_class_for_status(status)
    if cls is UnthreadRateLimited:
        return UnthreadRateLimited(
            status, method=method, path=path, body_excerpt=body_excerpt, retry_after=retry_after
        )
    return cls(status, method=method, path=path, body_excerpt=body_excerpt)
