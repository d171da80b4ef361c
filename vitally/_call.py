"""One logical Vitally call: tenant, endpoint, and how to read (or fail to read) its answer.

Kept apart from the client so the client module holds only the calls and the retry loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from vitally.errors import VitallyError, VitallyRequestError, excerpt, status_error
from vitally.ratelimit import parse_seconds
from vitally.target import VitallyTarget

Method = Literal["GET", "POST", "PUT", "DELETE"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Call:
    """One logical call: who it is for, which endpoint, and how to read its answer.

    `template` ("/resources/conversations/{id}") names the endpoint in logs and errors;
    the ids filled into it never reach either.
    """

    target: VitallyTarget
    method: Method
    template: str
    ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        path = self.template.format_map({k: quote(v, safe="") for k, v in self.ids.items()})
        return self.target.base_url + path

    def log_fields(self, **fields: object) -> dict[str, object]:
        # Prefixed, so they never collide with LogRecord's own attributes.
        base: dict[str, object] = {
            "vitally_tenant": self.target.tenant_id,
            "vitally_method": self.method,
            "vitally_path": self.template,
        }
        base.update({f"vitally_{name}": value for name, value in fields.items()})
        return base

    def excerpt(self, response: httpx.Response) -> str:
        encoded = self.target.authorization.partition(" ")[2]
        return excerpt(response.text, secrets=(self.target.authorization, encoded))

    def decode(self, response: httpx.Response, model: type[M]) -> M:
        try:
            return model.model_validate_json(response.content)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise self.unreadable(response) from exc

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise self.unreadable(response) from exc

    def validate(self, response: httpx.Response, body: Any, adapter: TypeAdapter[M]) -> M:
        try:
            return adapter.validate_python(body)
        except ValueError as exc:
            raise self.unreadable(response) from exc

    def unreadable(self, response: httpx.Response) -> VitallyError:
        """A 2xx we cannot use; for a POST the write most likely happened."""
        return status_error(
            response.status_code,
            method=self.method,
            path=self.template,
            body_excerpt=self.excerpt(response),
        )


def request_error(exc: httpx.RequestError, call: Call) -> VitallyRequestError:
    """No answer. A POST may still have landed unless it provably never left."""
    message = f"{type(exc).__name__} on {call.method} {call.template}"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError):
        return VitallyRequestError(
            message, method=call.method, path=call.template, reason="vitally_unreachable"
        )
    if isinstance(exc, httpx.PoolTimeout):
        # Waited for a free connection from our own pool; nothing was sent.
        return VitallyRequestError(
            message, method=call.method, path=call.template, reason="vitally_timeout"
        )
    timeout = isinstance(exc, httpx.TimeoutException)
    return VitallyRequestError(
        message,
        method=call.method,
        path=call.template,
        reason="vitally_timeout" if timeout else "vitally_transport_error",
        maybe_applied=call.method == "POST",
    )


def retry_after(headers: httpx.Headers) -> float | None:
    # RateLimit-Reset is Vitally's documented header; Retry-After (in seconds) is a fallback.
    reset = parse_seconds(headers.get("RateLimit-Reset"))
    return reset if reset is not None else parse_seconds(headers.get("Retry-After"))
