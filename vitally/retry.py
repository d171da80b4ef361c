"""When to repeat a failed Vitally call: the policy shared with the Unthread client, which
lives in `apiclient.retry` (its park reasons are the Vitally handler's)."""

from apiclient.retry import (
    DEFAULT_RETRY,
    NO_RETRY,
    Decision,
    GiveUp,
    ParkReason,
    Retryable,
    RetryIn,
    RetryPolicy,
)

__all__ = [
    "DEFAULT_RETRY",
    "NO_RETRY",
    "Decision",
    "GiveUp",
    "ParkReason",
    "RetryIn",
    "RetryPolicy",
    "Retryable",
]
