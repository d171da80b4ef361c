"""Unthread REST client for many tenants: targets, errors, pacing, retries.

Used to look up what sparse webhook events leave out (see `processors.enrichment`).
"""

from unthread.client import (
    DEFAULT_LIMIT_PER_MINUTE,
    DEFAULT_RETRY,
    UnthreadClient,
    build_http_client,
    default_limiter,
)
from unthread.errors import (
    Reason,
    UnthreadAuthError,
    UnthreadError,
    UnthreadNotFound,
    UnthreadRateLimited,
    UnthreadRejected,
    UnthreadRequestError,
    UnthreadResponseError,
    UnthreadServerError,
    UnthreadStatusError,
    UnthreadThrottled,
    error_class_for_status,
)
from unthread.target import DEFAULT_BASE_URL, UnthreadTarget, base_url_for

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMIT_PER_MINUTE",
    "DEFAULT_RETRY",
    "Reason",
    "UnthreadAuthError",
    "UnthreadClient",
    "UnthreadError",
    "UnthreadNotFound",
    "UnthreadRateLimited",
    "UnthreadRejected",
    "UnthreadRequestError",
    "UnthreadResponseError",
    "UnthreadServerError",
    "UnthreadStatusError",
    "UnthreadTarget",
    "UnthreadThrottled",
    "base_url_for",
    "build_http_client",
    "default_limiter",
    "error_class_for_status",
]
