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

`maybe_applied` matters because Vitally has no idempotency key: a POST that may have landed must
not be re-sent blindly; the caller first looks the record up by its externalId.
`body_excerpt` is a truncated copy of what the server said, with our own credential scrubbed out.
"""

from __future__ import annotations

from typing import Literal

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

BODY_EXCERPT_CHARS = 300


class VitallyError(Exception):
    """Base of every error the Vitally client raises; nothing above the client sees httpx."""

    reason: Reason = "vitally_transport_error"
    transient: bool = False
    retry_after: float | None = None

    def __init__(self, message: str, *, method: str, path: str, maybe_applied: bool = False):
        super().__init__(message)
        self.method = method
        # The path template ("/resources/conversations/{id}"), never one with ids or emails in it.
        self.path = path
        self.maybe_applied = maybe_applied


class VitallyThrottled(VitallyError):
    """Not sent: waiting for the tenant's request budget would take longer than allowed."""

    reason: Reason = "vitally_rate_limited"
    transient = True

    def __init__(self, *, method: str, path: str, retry_after: float | None):
        super().__init__(
            f"{method} {path} not sent: the tenant's request budget is spent",
            method=method,
            path=path,
        )
        self.retry_after = retry_after


class VitallyRequestError(VitallyError):
    """No response arrived: timeout, refused connection, broken protocol. Worth retrying."""

    transient = True

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        reason: Reason = "vitally_transport_error",
        maybe_applied: bool = False,
    ):
        super().__init__(message, method=method, path=path, maybe_applied=maybe_applied)
        self.reason = reason


class VitallyStatusError(VitallyError):
    """Vitally answered, and the answer is not what we asked for."""

    reason: Reason = "vitally_unexpected_status"

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
            f"Vitally answered {status} to {method} {path}",
            method=method,
            path=path,
            maybe_applied=maybe_applied,
        )
        self.status = status
        self.body_excerpt = body_excerpt


class VitallyAuthError(VitallyStatusError):
    """401/403: the tenant's API key is wrong, revoked, or lacks access."""

    reason = "vitally_auth_failed"

    @property
    def forbidden(self) -> bool:
        """True for 403 (key known but not allowed), False for 401 (key not accepted)."""
        return self.status == 403


class VitallyRateLimited(VitallyStatusError):
    """429: over the tenant's request budget; wait `retry_after` seconds when known."""

    reason = "vitally_rate_limited"
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


class VitallyNotFound(VitallyStatusError):
    """404: the record (or, for a wrong base URL, the whole API) is not there."""

    reason = "vitally_not_found"


class VitallyRejected(VitallyStatusError):
    """Any other 4xx: the request itself needs fixing; repeating it will not help."""

    reason = "vitally_rejected"


class VitallyServerError(VitallyStatusError):
    """5xx: Vitally failed; a POST may nevertheless have been applied."""

    reason = "vitally_server_error"
    transient = True


class VitallyResponseError(VitallyStatusError):
    """A 2xx whose body we cannot read. For a POST the write most likely happened."""

    reason = "vitally_bad_response"


def error_class_for_status(status: int) -> type[VitallyStatusError]:
    """The one place that maps an HTTP status to an error class."""
    if status in (401, 403):
        return VitallyAuthError
    if status == 429:
        return VitallyRateLimited
    if status == 404:
        return VitallyNotFound
    if 400 <= status < 500:
        return VitallyRejected
    if status >= 500:
        return VitallyServerError
    if 200 <= status < 300:
        return VitallyResponseError
    return VitallyStatusError


def status_error(
    status: int,
    *,
    method: str,
    path: str,
    body_excerpt: str = "",
    retry_after: float | None = None,
) -> VitallyStatusError:
    """Build the error for a response with `status`; POSTs that may have landed say so."""
    cls = error_class_for_status(status)
    if cls is VitallyRateLimited:
        return VitallyRateLimited(
            status, method=method, path=path, body_excerpt=body_excerpt, retry_after=retry_after
        )
    maybe_applied = method == "POST" and cls in (VitallyServerError, VitallyResponseError)
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
