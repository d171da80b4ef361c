"""One logical API call: tenant, endpoint, and how to read (or fail to read) its answer.

Each API subclasses `ApiCall` with its target type, its errors, its credential header and
what in that header must never reach a log (each API package's own subclass).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from apiclient.errors import ApiError, ErrorFamily, RequestError, StatusError, excerpt

Method = Literal["GET", "POST", "PUT", "DELETE"]
M = TypeVar("M", bound=BaseModel)


class Target(Protocol):
    """Where one tenant's calls go; the credential is the API's own business."""

    @property
    def tenant_id(self) -> str: ...

    @property
    def base_url(self) -> str: ...


T = TypeVar("T", bound=Target)


@dataclass(frozen=True)
class ApiCall(Generic[T]):
    """One logical call: who it is for, which endpoint, and how to read its answer.

    `template` ("/resources/conversations/{id}") names the endpoint in logs and errors;
    the ids filled into it never reach either.
    """

    # The API's name, prefixed to log fields ("<api>_tenant") and log lines.
    api: ClassVar[str]
    errors: ClassVar[ErrorFamily[Any, Any]]

    target: T
    method: Method
    template: str
    ids: Mapping[str, str] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        """The request's headers: the tenant's credential, and that we want JSON."""
        raise NotImplementedError

    def secrets(self) -> tuple[str, ...]:
        """What of the credential must be scrubbed from anything the server says back."""
        raise NotImplementedError

    def retry_after(self, headers: httpx.Headers) -> float | None:
        """Seconds the server asks us to wait, from whichever headers the API sends."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        path = self.template.format_map({k: quote(v, safe="") for k, v in self.ids.items()})
        return self.target.base_url + path

    def log_fields(self, **fields: object) -> dict[str, object]:
        # Prefixed, so they never collide with LogRecord's own attributes.
        prefix = self.api
        base: dict[str, object] = {
            f"{prefix}_tenant": self.target.tenant_id,
            f"{prefix}_method": self.method,
            f"{prefix}_path": self.template,
        }
        base.update({f"{prefix}_{name}": value for name, value in fields.items()})
        return base

    def excerpt(self, response: httpx.Response) -> str:
        return excerpt(response.text, secrets=self.secrets())

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

    def unreadable(self, response: httpx.Response) -> ApiError[Any]:
        """A 2xx we cannot use; for a POST that writes, the write most likely happened."""
        return self.status_error(response, retry_after=None)

    def status_error(
        self, response: httpx.Response, *, retry_after: float | None
    ) -> StatusError[Any]:
        error: StatusError[Any] = self.errors.status_error(
            response.status_code,
            method=self.method,
            path=self.template,
            body_excerpt=self.excerpt(response),
            retry_after=retry_after,
        )
        return error

    def request_error(self, exc: httpx.RequestError) -> RequestError[Any]:
        """No answer. A POST that writes may still have landed unless it provably never left."""
        errors = self.errors
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError):
            reason, may_have_left = errors.unreachable, False
        elif isinstance(exc, httpx.PoolTimeout):
            # Waited for a free connection from our own pool; nothing was sent.
            reason, may_have_left = errors.timeout, False
        elif isinstance(exc, httpx.TimeoutException):
            reason, may_have_left = errors.timeout, True
        else:
            reason, may_have_left = errors.transport, True
        return errors.request(
            f"{type(exc).__name__} on {self.method} {self.template}",
            method=self.method,
            path=self.template,
            reason=reason,
            maybe_applied=may_have_left and errors.writes and self.method == "POST",
        )

    def closed_error(self) -> RequestError[Any]:
        """The shared HTTP client was closed under the call: nothing was sent."""
        return self.errors.request(
            "the HTTP client is closed",
            method=self.method,
            path=self.template,
            reason=self.errors.unreachable,
        )
