"""One logical Vitally call: tenant, endpoint, and how to read (or fail to read) its answer.

Kept apart from the client so the client module holds only the calls; what every API's calls
share is `apiclient.call.ApiCall`.
"""

from __future__ import annotations

import httpx

from apiclient.call import ApiCall
from apiclient.call import Method as Method
from apiclient.ratelimit import parse_seconds
from vitally.errors import ERRORS
from vitally.target import VitallyTarget


class Call(ApiCall[VitallyTarget]):
    """One logical Vitally call (`apiclient.call.ApiCall`)."""

    api = "vitally"
    errors = ERRORS

    def headers(self) -> dict[str, str]:
        return {"Authorization": self.target.authorization, "Accept": "application/json"}

    def secrets(self) -> tuple[str, ...]:
        # The header as sent, and the encoded credentials on their own.
        encoded = self.target.authorization.partition(" ")[2]
        return (self.target.authorization, encoded)

    def retry_after(self, headers: httpx.Headers) -> float | None:
        return retry_after(headers)


def retry_after(headers: httpx.Headers) -> float | None:
    # RateLimit-Reset is Vitally's documented header; Retry-After (in seconds) is a fallback.
    reset = parse_seconds(headers.get("RateLimit-Reset"))
    return reset if reset is not None else parse_seconds(headers.get("Retry-After"))
