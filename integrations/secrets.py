"""Encryption of tenants' Vitally API keys at rest, with SECRETS_KEY.

SECRETS_KEY holds one or more Fernet keys, comma-separated, newest first: new secrets are
encrypted with the first, and any of them decrypts, so a key can be rotated by prepending a
new one, re-encrypting (``vitally-sync rotate-secrets``) and later dropping the old one.
"""

from __future__ import annotations

import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretsKeyError(ValueError):
    """SECRETS_KEY is missing or not a list of Fernet keys."""


class UndecryptableSecret(Exception):
    """A stored secret was encrypted with a key SECRETS_KEY no longer holds."""

    reason = "secret_undecryptable"


class SecretBox:
    """Encrypts and decrypts stored API keys with the Fernet keys in SECRETS_KEY."""

    def __init__(self, secrets_key: str) -> None:
        keys = [k.strip() for k in secrets_key.split(",") if k.strip()]
        if not keys:
            raise SecretsKeyError("SECRETS_KEY is empty")
        try:
            self._newest = Fernet(keys[0])
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError as exc:
            raise SecretsKeyError(
                "SECRETS_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
                "comma-separated, newest first"
            ) from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise UndecryptableSecret("no key in SECRETS_KEY decrypts this secret") from exc

    def is_newest(self, token: str) -> bool:
        """Whether the newest key (the first) decrypts it: nothing left to rotate."""
        try:
            self._newest.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """Re-encrypt with the newest key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise UndecryptableSecret("no key in SECRETS_KEY decrypts this secret") from exc


def fingerprint(secret: str) -> str:
    """A short, non-reversible tag that tells two keys apart in the API and the logs."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:10]
