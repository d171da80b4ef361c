import pytest

from vitally import (
    VitallyAuthError,
    VitallyNotFound,
    VitallyRateLimited,
    VitallyRejected,
    VitallyResponseError,
    VitallyServerError,
    VitallyStatusError,
    error_class_for_status,
)
from vitally.errors import excerpt, status_error


@pytest.mark.parametrize(
    ("status", "cls", "reason", "transient"),
    [
        (401, VitallyAuthError, "vitally_auth_failed", False),
        (403, VitallyAuthError, "vitally_auth_failed", False),
        (429, VitallyRateLimited, "vitally_rate_limited", True),
        (404, VitallyNotFound, "vitally_not_found", False),
        (400, VitallyRejected, "vitally_rejected", False),
        (409, VitallyRejected, "vitally_rejected", False),
        (422, VitallyRejected, "vitally_rejected", False),
        (418, VitallyRejected, "vitally_rejected", False),
        (500, VitallyServerError, "vitally_server_error", True),
        (503, VitallyServerError, "vitally_server_error", True),
        (200, VitallyResponseError, "vitally_bad_response", False),
        (302, VitallyStatusError, "vitally_unexpected_status", False),
    ],
)
def test_each_status_maps_to_its_class_and_reason(
    status: int, cls: type[VitallyStatusError], reason: str, transient: bool
) -> None:
    assert error_class_for_status(status) is cls
    error = status_error(status, method="GET", path="/resources/users")
    assert type(error) is cls
    assert (error.status, error.reason, error.transient) == (status, reason, transient)


def test_forbidden_tells_403_from_401() -> None:
    denied = status_error(403, method="GET", path="/resources/users")
    unknown = status_error(401, method="GET", path="/resources/users")
    assert isinstance(denied, VitallyAuthError) and denied.forbidden
    assert isinstance(unknown, VitallyAuthError) and not unknown.forbidden


def test_rate_limited_carries_the_advised_wait() -> None:
    error = status_error(429, method="POST", path="/resources/conversations", retry_after=7.0)
    assert isinstance(error, VitallyRateLimited)
    assert error.retry_after == 7.0
    assert not error.maybe_applied  # a 429 was turned away before doing anything


@pytest.mark.parametrize(
    ("status", "method", "applied"),
    [
        (500, "POST", True),
        (500, "GET", False),
        (201, "POST", True),
        (400, "POST", False),
    ],
)
def test_maybe_applied_only_for_posts_that_may_have_landed(
    status: int, method: str, applied: bool
) -> None:
    assert status_error(status, method=method, path="/x").maybe_applied is applied


def test_excerpt_is_truncated_and_scrubbed() -> None:
    body = '{"error": "bad key Basic c2VjcmV0X2tleTo="}' + "x" * 1000
    text = excerpt(body, secrets=("Basic c2VjcmV0X2tleTo=", "c2VjcmV0X2tleTo="))
    assert "c2VjcmV0X2tleTo=" not in text
    assert "[redacted]" in text
    assert len(text) <= 303
