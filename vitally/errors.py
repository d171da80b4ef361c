"""What can go wrong when talking to Vitally.

* VitallyError                      .reason (stable snake_case code), .transient, .maybe_applied,
  |                                 .retry_after (seconds to wait first, when known)
  x VitallyThrottled                not sent: the tenant's budget, or the block after a 429,
  |                                 would hold it longer than the client waits; reason
  |                                 "vitally_rate_limited", transient
  x VitallyRequestError             no response (timeout, connect, protocol): transient;
  |                                 .maybe_applied when a POST may have reached the server
  |                                 (read/write timeout, dropped connection; never connect errors)
  x VitallyStatusError              an answer that says no: .status, .body_excerpt
    + VitallyAuthError      401/403  reason "vitally_auth_failed"; .forbidden
    + VitallyRateLimited    429      .retry_after (RateLimit-Reset, else Retry-After, else None);
    |                                transient
    + VitallyNotFound       404      reason "vitally_not_found"
    + VitallyRejected       other 4xx (400, 409, 422, ...)  reason "vitally_rejected"
    + VitallyServerError    5xx      transient; .maybe_applied for POSTs
    + VitallyResponseError  2xx whose body we cannot read (not JSON, no id);
                                     .maybe_applied for POSTs
  (1xx/3xx answers raise a plain VitallyStatusError, reason "vitally_unexpected_status": with
   redirects off, a 3xx means a wrong base URL, and following it would send the key elsewhere.)

Every class also names its `park_reason`, why an event may wait for the failure to clear
should it outlast the retries: "vitally_rate_limited" for VitallyThrottled and
VitallyRateLimited, "vitally_unavailable" for the others (only transient ones, or writes that
may have landed, are ever parked).

`maybe_applied` matters because Vitally has no idempotency key: a POST that may have landed must
not be re-sent blindly; the caller first looks the record up by its externalId.
`body_excerpt` is a truncated copy of what the server said, with our own credential scrubbed out.
"""

from __future__ import annotations

from typing import Literal

from apiclient import errors as base
from apiclient.errors import BODY_EXCERPT_CHARS as BODY_EXCERPT_CHARS
from apiclient.errors import excerpt as excerpt

Reason = Literal[
    "vitally_auth_failed",
    "vitally_bad_response",
    "vitally_not_found",
    "vitally_rate_limited",
    "vitally_rejected",
    "vitally_server_error",
    "vitally_timeout",
    "vitally_transport_error",
    "vitally_unexpected_status",
    "vitally_unreachable",
]
ParkReason = Literal["vitally_unavailable", "vitally_rate_limited"]


class VitallyError(base.ApiError[Reason]):
    """Base of every error the Vitally client raises; nothing above the client sees httpx."""

    api = "Vitally"
    reason: Reason = "vitally_transport_error"
    park_reason: ParkReason = "vitally_unavailable"


class VitallyThrottled(base.Throttled[Reason], VitallyError):
    """Not sent: waiting for the tenant's request budget would take longer than allowed."""

    reason: Reason = "vitally_rate_limited"
    park_reason: ParkReason = "vitally_rate_limited"


class VitallyRequestError(base.RequestError[Reason], VitallyError):
    """No response arrived: timeout, refused connection, broken protocol. Worth retrying."""


class VitallyStatusError(base.StatusError[Reason], VitallyError):
    """Vitally answered, and the answer is not what we asked for."""

    reason: Reason = "vitally_unexpected_status"


class VitallyAuthError(base.AuthError[Reason], VitallyStatusError):
    """401/403: the tenant's API key is wrong, revoked, or lacks access."""

    reason: Reason = "vitally_auth_failed"


class VitallyRateLimited(base.RateLimited[Reason], VitallyStatusError):
    """429: over the tenant's request budget; wait `retry_after` seconds when known."""

    reason: Reason = "vitally_rate_limited"
    park_reason: ParkReason = "vitally_rate_limited"


class VitallyNotFound(base.NotFound[Reason], VitallyStatusError):
    """404: the record (or, for a wrong base URL, the whole API) is not there."""

    reason: Reason = "vitally_not_found"


class VitallyRejected(base.Rejected[Reason], VitallyStatusError):
    """Any other 4xx: the request itself needs fixing; repeating it will not help."""

    reason: Reason = "vitally_rejected"


class VitallyServerError(base.ServerError[Reason], VitallyStatusError):
    """5xx: Vitally failed; a POST may nevertheless have been applied."""

    reason: Reason = "vitally_server_error"


class VitallyResponseError(base.ResponseError[Reason], VitallyStatusError):
    """A 2xx whose body we cannot read. For a POST the write most likely happened."""

    reason: Reason = "vitally_bad_response"


ERRORS = base.ErrorFamily[Reason, VitallyStatusError](
    status=VitallyStatusError,
    auth=VitallyAuthError,
    rate_limited=VitallyRateLimited,
    not_found=VitallyNotFound,
    rejected=VitallyRejected,
    server=VitallyServerError,
    response=VitallyResponseError,
    throttled=VitallyThrottled,
    request=VitallyRequestError,
    # Vitally has no idempotency key: a POST that may have landed says so.
    writes=True,
    unreachable="vitally_unreachable",
    timeout="vitally_timeout",
    transport="vitally_transport_error",
)


# The one place that maps an HTTP status to an error class, and builds the error for a
# response (`retry_after` for a 429; a POST that may have landed says so when the API writes).
error_class_for_status = ERRORS.class_for_status
status_error = ERRORS.status_error
