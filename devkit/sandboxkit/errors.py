"""Error answers and request-body parsing shared by the Vitally routes and the control API.

Vitally itself answers with two body shapes, both mirrored here: `{"message": ...}` for a
body or query it rejects (400) and `{"error": ...}` for everything else (401, 403, 404, 429).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """Raised by a handler to answer with `status` and a JSON `body`."""

    def __init__(self, status: int, body: dict[str, str]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def bad_request(message: str) -> ApiError:
    return ApiError(400, {"message": message})


def not_found(what: str = "Not found") -> ApiError:
    return ApiError(404, {"error": what})


def conflict(message: str) -> ApiError:
    return ApiError(409, {"error": message})


def parse_json(model: type[M], raw: bytes) -> M:
    """Validate a raw JSON body against `model`, turning any failure into a 400."""
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        raise bad_request(describe(exc)) from exc


def describe(exc: ValidationError) -> str:
    """Say what is wrong with the first offending field, e.g. `messages[0].from is required`."""
    first = exc.errors(include_url=False)[0]
    where = _location(first["loc"])
    if first["type"] == "missing":
        return f"{where} is required"
    # A validator's own ValueError reads better without pydantic's "Value error, " prefix.
    what = str(first["ctx"]["error"]) if first["type"] == "value_error" else first["msg"]
    return f"{where}: {what}" if where else what


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


async def api_error_response(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ApiError):  # registered for ApiError only
        raise exc
    return JSONResponse(exc.body, status_code=exc.status)


async def http_error_response(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 as JSON, so clients never meet a plain-text body."""
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
