"""What stands in front of every HTTP endpoint of the worker: the bearer token and the errors.

One aiohttp middleware on Faust's web server, so nothing can be added without it:

* every request but ``GET`` of the probes and the metrics (``/ready``, ``/live``, ``/``,
  ``/metrics``) and the console's pages (under ``/console``, behind its own sign-in and
  session cookie) needs ``Authorization: Bearer <ADMIN_API_TOKEN>``, compared in constant time;
  that includes Faust's own ``/table`` and ``/router`` pages, which would otherwise show table
  data to anyone;
* every failure is answered as JSON ``{"error": code, "message": ...}``: an
  :class:`~integrations.api.ApiError` with its status, aiohttp's own 404/405/413 with theirs,
  and anything unexpected as a logged 500 (the worker keeps running).

Bodies are read with :func:`read_body`, which stops at the size limit instead of buffering
whatever a client sends.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from integrations.api import ApiError

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/ready", "/live", "/", "/metrics"})
# The console (streams/web/console) signs people in itself and checks its own session cookie.
SESSION_PREFIX = "/console"
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries exactly ``Bearer <token>``.

    Constant time in the token's content; an empty configured token matches nothing.
    """
    if not header or not token:
        return False
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Bytes, not str: compare_digest refuses non-ASCII str, and a header may carry any byte.
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), token.encode())


def json_error(status: int, code: str, message: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="vitally-sync"'} if status == 401 else None
    return web.json_response({"error": code, "message": message}, status=status, headers=headers)


def guard(admin_token: str, open_paths: frozenset[str] = OPEN_PATHS) -> Middleware:
    """The middleware: authentication first, then the handler with every failure as JSON."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        is_probe = request.method in ("GET", "HEAD") and request.path in open_paths
        is_console = request.path.partition("/")[2].partition("/")[0] == SESSION_PREFIX[1:]
        authorization = request.headers.get("Authorization")
        if not (is_probe or is_console) and not bearer_matches(authorization, admin_token):
            return json_error(
                401, "unauthorized", "Send the header Authorization: Bearer <ADMIN_API_TOKEN>."
            )
        try:
            return await handler(request)
        except ApiError as exc:
            return json_error(exc.status, exc.code, exc.message)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return json_error(exc.status, _HTTP_CODES.get(exc.status, "http_error"), exc.reason)
        except asyncio.CancelledError:
            raise
        except Exception:
            # No request data in the log: bodies may hold an API key.
            log.exception("HTTP request failed", extra={"method": request.method,
                                                        "path": request.path})  # fmt: skip
            return json_error(
                500,
                "internal_error",
                "An unexpected error occurred and was "
                "logged; GET the integration to see whether a change was saved.",
            )

    return middleware


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    too_large = ApiError(413, "body_too_large", f"The body must be at most {limit} bytes.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    body = bytearray()
    try:
        while chunk := await request.content.read(limit + 1 - len(body)):
            body += chunk
            if len(body) > limit:
                raise too_large
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        raise ApiError(400, "bad_request", "The body could not be read.") from exc
    return bytes(body)
