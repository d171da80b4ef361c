import pytest

from vitally import (
    RetryPolicy,
    VitallyError,
    VitallyRateLimited,
    VitallyRejected,
    VitallyRequestError,
    VitallyServerError,
)
from vitally.retry import Decision, GiveUp, RetryIn

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


def schedule(policy: RetryPolicy, error: VitallyError, **kwargs: bool) -> list[Decision]:
    """The policy's decision after each failed attempt, until it gives up."""
    decisions: list[Decision] = []
    while not decisions or isinstance(decisions[-1], RetryIn):
        decisions.append(policy.decide(error, len(decisions) + 1, **kwargs))
    return decisions


POLICY = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=8.0, jitter=0.0)
UNAVAILABLE = GiveUp(park="vitally_unavailable")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (SERVER_GET, [RetryIn(0.5), RetryIn(1.0), RetryIn(2.0), RetryIn(4.0), UNAVAILABLE]),
        (TIMEOUT_GET, [RetryIn(0.5), RetryIn(1.0), RetryIn(2.0), RetryIn(4.0), UNAVAILABLE]),
        # May have landed: retried only by a caller that looks the write up first.
        (TIMEOUT_POST, [RetryIn(0.5), RetryIn(1.0), RetryIn(2.0), RetryIn(4.0), UNAVAILABLE]),
        (limited(5.0), [RetryIn(5.0)] * 4 + [GiveUp(park="vitally_rate_limited")]),
        # Longer than max_delay: not sat out in line, the event parks instead.
        (limited(120.0), [GiveUp(park="vitally_rate_limited")]),
        (REJECTED, [GiveUp(park=None)]),
    ],
)
def test_decide_gives_exact_schedules(error: VitallyError, expected: list[Decision]) -> None:
    assert schedule(POLICY, error) == expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TIMEOUT_GET, [RetryIn(0.5), RetryIn(1.0), GiveUp(park="vitally_unavailable")]),
        (CONNECT_POST, [RetryIn(0.5), RetryIn(1.0), GiveUp(park="vitally_unavailable")]),
        (TIMEOUT_POST, [GiveUp(park="vitally_unavailable")]),  # the client cannot look up
        (SERVER_POST, [GiveUp(park="vitally_unavailable")]),
        (REJECTED, [GiveUp(park=None)]),
    ],
)
def test_a_caller_that_cannot_look_up_never_repeats_a_write_that_may_have_landed(
    error: VitallyError, expected: list[Decision]
) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.5, jitter=0.0)
    assert schedule(policy, error, can_look_up=False) == expected


def test_nothing_is_waited_for_while_the_worker_stops() -> None:
    assert POLICY.decide(SERVER_GET, 1, may_wait=False) == UNAVAILABLE


def test_the_decided_delay_carries_the_jitter() -> None:
    policy = RetryPolicy(base_delay=1.0, jitter=0.2, rand=lambda: 0.5)
    decision = policy.decide(SERVER_GET, 1)
    assert isinstance(decision, RetryIn) and decision.delay == pytest.approx(1.1)


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
