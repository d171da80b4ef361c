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

Every class also names its `park_reason`, why an event may wait for the failure to clear:
"unthread_rate_limited" for UnthreadThrottled and UnthreadRateLimited, "unthread_unavailable"
for the others.

Every call we make only reads (`POST /users/list` is a query), so nothing is ever
`maybe_applied` and every transient failure may be repeated.
`body_excerpt` is a truncated copy of what the server said, with the API key scrubbed out.
"""

from __future__ import annotations

from typing import Literal

from apiclient import errors as base

Reason = Literal[
    "unthread_auth_failed",
    "unthread_bad_response",
    "unthread_not_found",
    "unthread_rate_limited",
    "unthread_rejected",
    "unthread_unavailable",
    "unthread_unexpected_status",
]
ParkReason = Literal["unthread_unavailable", "unthread_rate_limited"]


class UnthreadError(base.ApiError[Reason]):
    """Base of every error the Unthread client raises; nothing above the client sees httpx."""

    api = "Unthread"
    budget = "Unthread budget"
    reason: Reason = "unthread_unavailable"
    park_reason: ParkReason = "unthread_unavailable"


class UnthreadThrottled(base.Throttled[Reason], UnthreadError):
    """Not sent: waiting for the tenant's request budget would take longer than allowed."""

    reason: Reason = "unthread_rate_limited"
    park_reason: ParkReason = "unthread_rate_limited"


class UnthreadRequestError(base.RequestError[Reason], UnthreadError):
    """No response arrived: timeout, refused connection, broken protocol. Worth retrying."""


class UnthreadStatusError(base.StatusError[Reason], UnthreadError):
    """Unthread answered, and the answer is not what we asked for."""

    reason: Reason = "unthread_unexpected_status"


class UnthreadAuthError(base.AuthError[Reason], UnthreadStatusError):
    """401/403: the tenant's Unthread key is wrong, revoked, or its service account disabled."""

    reason: Reason = "unthread_auth_failed"


class UnthreadRateLimited(base.RateLimited[Reason], UnthreadStatusError):
    """429: over Unthread's (undocumented) limit; wait `retry_after` seconds when known."""

    reason: Reason = "unthread_rate_limited"
    park_reason: ParkReason = "unthread_rate_limited"


class UnthreadNotFound(base.NotFound[Reason], UnthreadStatusError):
    """404: no such record in the tenant's workspace (or a wrong base URL)."""

    reason: Reason = "unthread_not_found"


class UnthreadRejected(base.Rejected[Reason], UnthreadStatusError):
    """Any other 4xx: the request itself needs fixing; repeating it will not help."""

    reason: Reason = "unthread_rejected"


class UnthreadServerError(base.ServerError[Reason], UnthreadStatusError):
    """5xx: Unthread failed; a read is safe to repeat."""

    reason: Reason = "unthread_unavailable"


class UnthreadResponseError(base.ResponseError[Reason], UnthreadStatusError):
    """A 2xx whose body we cannot read."""

    reason: Reason = "unthread_bad_response"


ERRORS = base.ErrorFamily[Reason, UnthreadStatusError](
    status=UnthreadStatusError,
    auth=UnthreadAuthError,
    rate_limited=UnthreadRateLimited,
    not_found=UnthreadNotFound,
    rejected=UnthreadRejected,
    server=UnthreadServerError,
    response=UnthreadResponseError,
    throttled=UnthreadThrottled,
    request=UnthreadRequestError,
    # Every call reads (`POST /users/list` is a query): nothing is ever maybe_applied, and
    # every failure to get an answer is "unthread_unavailable".
    writes=False,
)


# The one place that maps an HTTP status to an error class, and builds the error for a
# response (`retry_after` for a 429; a POST that may have landed says so when the API writes).
error_class_for_status = ERRORS.class_for_status
status_error = ERRORS.status_error
