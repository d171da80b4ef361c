"""When to repeat a failed Vitally call: the policy every client shares, which lives in
`apiclient.retry`; a Vitally error's park reason is `vitally.errors.ParkReason`."""

from apiclient.retry import (
    DEFAULT_RETRY,
    NO_RETRY,
    Decision,
    GiveUp,
    Retryable,
    RetryIn,
    RetryPolicy,
)
from vitally.errors import ParkReason

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
