"""Vitally REST client for many tenants: targets, errors, pacing, retries, call counting."""

from apiclient.ratelimit import RateLimitSnapshot, TenantRateLimiter
from vitally.calls import CallCounter, count_calls
from vitally.client import SortBy, VitallyClient, build_http_client
from vitally.errors import (
    Reason,
    VitallyAuthError,
    VitallyError,
    VitallyNotFound,
    VitallyRateLimited,
    VitallyRejected,
    VitallyRequestError,
    VitallyResponseError,
    VitallyServerError,
    VitallyStatusError,
    VitallyThrottled,
    error_class_for_status,
)
from vitally.retry import NO_RETRY, RetryPolicy
from vitally.target import Region, VitallyTarget, base_url_for, basic_auth_value

__all__ = [
    "CallCounter",
    "NO_RETRY",
    "RateLimitSnapshot",
    "Reason",
    "Region",
    "RetryPolicy",
    "SortBy",
    "TenantRateLimiter",
    "VitallyAuthError",
    "VitallyClient",
    "VitallyError",
    "VitallyNotFound",
    "VitallyRateLimited",
    "VitallyRejected",
    "VitallyRequestError",
    "VitallyResponseError",
    "VitallyServerError",
    "VitallyStatusError",
    "VitallyTarget",
    "VitallyThrottled",
    "base_url_for",
    "basic_auth_value",
    "build_http_client",
    "count_calls",
    "error_class_for_status",
]
