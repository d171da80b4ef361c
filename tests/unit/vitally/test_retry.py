import pytest

from vitally import (
    RetryPolicy,
    VitallyError,
    VitallyRateLimited,
    VitallyRejected,
    VitallyRequestError,
    VitallyServerError,
)

TIMEOUT_GET = VitallyRequestError("ReadTimeout", method="GET", path="/x", reason="vitally_timeout")
TIMEOUT_POST = VitallyRequestError(
    "ReadTimeout", method="POST", path="/x", reason="vitally_timeout", maybe_applied=True
)
CONNECT_POST = VitallyRequestError(
    "ConnectError", method="POST", path="/x", reason="vitally_unreachable"
)
SERVER_GET = VitallyServerError(503, method="GET", path="/x")
SERVER_POST = VitallyServerError(503, method="POST", path="/x", maybe_applied=True)
REJECTED = VitallyRejected(400, method="POST", path="/x")


def limited(retry_after: float | None) -> VitallyRateLimited:
    return VitallyRateLimited(429, method="POST", path="/x", retry_after=retry_after)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TIMEOUT_GET, True),
        (SERVER_GET, True),
        (CONNECT_POST, True),  # never left this machine
        (limited(5.0), True),
        (TIMEOUT_POST, False),  # may have been applied: the caller must check first
        (SERVER_POST, False),
        (REJECTED, False),
        (limited(120.0), False),  # longer than max_delay: the stream layer pauses instead
    ],
)
def test_should_retry_only_transient_errors_that_are_safe_to_repeat(
    error: VitallyError, expected: bool
) -> None:
    assert RetryPolicy(max_delay=30.0).should_retry(error, attempt=1) is expected


def test_should_retry_stops_at_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.should_retry(SERVER_GET, n) for n in (1, 2, 3)] == [True, True, False]


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter=0.0)
    assert [policy.delay(n, SERVER_GET) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_server_advice_beats_backoff() -> None:
    policy = RetryPolicy(base_delay=0.5, jitter=0.0)
    assert policy.delay(1, limited(7.0)) == 7.0
    assert policy.delay(3, limited(0.0)) == 0.0
    assert policy.delay(2, limited(None)) == 1.0  # no advice: fall back to backoff


def test_jitter_only_ever_lengthens_the_wait() -> None:
    assert RetryPolicy(jitter=0.2, rand=lambda: 0.0).jittered(10.0) == 10.0
    assert RetryPolicy(jitter=0.2, rand=lambda: 0.5).jittered(10.0) == pytest.approx(11.0)
    assert RetryPolicy(jitter=0.0, rand=lambda: 0.9).jittered(10.0) == 10.0
