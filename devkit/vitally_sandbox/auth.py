"""Reading the API token from Vitally's Basic auth header.

Vitally documents `Authorization: Basic base64("<secret token>:")`: the token is the user
name and the password is empty. Only that exact form is accepted; a raw token, a token
without the trailing colon, or a non-empty password are refused like an unknown token, so
a client that builds the header wrongly fails here and not first in production.
"""

from __future__ import annotations

import base64
import binascii

from sandboxkit.gateway import fingerprint as fingerprint

MISSING_HEADER = {"error": "Authorization header not present."}
UNAUTHORIZED = {"error": "Unauthorized"}
FORBIDDEN = {"error": "Forbidden"}


def token_from_header(value: str) -> str | None:
    """The token in a `Basic base64("<token>:")` header value, or None if it is malformed."""
    scheme, _, credentials = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    token, colon, password = decoded.partition(":")
    if not colon or password or not token:
        return None
    return token


def basic_header(token: str) -> str:
    """The header value a well-behaved client sends for `token`."""
    return "Basic " + base64.b64encode(f"{token}:".encode()).decode("ascii")
