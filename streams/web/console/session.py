"""The console's sign-in: a signed session cookie in exchange for the admin token.

Stateless, so any worker accepts a session another one issued: the cookie is an expiry and a
random nonce, signed with a key derived from ``ADMIN_API_TOKEN`` (changing the token ends
every session). The CSRF token of a form is derived from the same nonce (a synchronizer
token that needs no server-side store): a forged form from another site has neither.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

COOKIE = "vitally_sync_console"
LIFETIME_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    nonce: str
    expires_at: int


class SessionSigner:
    """Issues and checks session cookies and their CSRF tokens."""

    def __init__(self, admin_token: str) -> None:
        self._token = admin_token
        self._key = hmac.new(admin_token.encode(), b"vitally-sync console v1", "sha256").digest()

    def token_matches(self, given: str) -> bool:
        """Whether the sign-in form's token is the admin token (constant time)."""
        if not given or not self._token:
            return False
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token.encode())

    def issue(self, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + LIFETIME_SECONDS)
        body = f"{expires}.{secrets.token_urlsafe(18)}"
        return f"{body}.{self._mac('session', body)}"

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie carries; None when it is missing, forged or expired."""
        if not cookie:
            return None
        body, _, mac = cookie.rpartition(".")
        expires, _, nonce = body.partition(".")
        signed = hmac.compare_digest(mac, self._mac("session", body))
        if not (expires.isdigit() and nonce and signed):
            return None
        if int(expires) < (now if now is not None else time.time()):
            return None
        return Session(nonce=nonce, expires_at=int(expires))

    def csrf_token(self, session: Session) -> str:
        return self._mac("csrf", session.nonce)

    def csrf_matches(self, session: Session, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(str(given), self.csrf_token(session))

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
