"""What every API's per-tenant target shares."""

from __future__ import annotations

import hashlib


def account_key(tenant_id: str, base_url: str, credential: str) -> str:
    """The tenant and, hashed, the account its credential opens at `base_url`: what is cached
    from one account must not be reused after a reconnect with another key or account."""
    digest = hashlib.sha256(f"{base_url}\n{credential}".encode()).hexdigest()
    return f"{tenant_id}:{digest[:16]}"
