"""Where one tenant's Unthread calls go, and with which key.

An `UnthreadTarget` travels with every client call, like `vitally.target.VitallyTarget`, so
one shared client and connection pool serve all tenants and a tenant's key is only ever sent
on that tenant's calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from apiclient.target import account_key

DEFAULT_BASE_URL = "https://api.unthread.io/api"


def base_url_for(override: str | None = None) -> str:
    """The API root without a trailing slash; `override` (UNTHREAD_BASE_URL: the sandbox,
    tests) wins for every tenant."""
    return (override or DEFAULT_BASE_URL).rstrip("/")


@dataclass(frozen=True)
class UnthreadTarget:
    """One tenant's Unthread API root and service-account key; repr never shows the key."""

    tenant_id: str
    base_url: str
    api_key: str = field(repr=False)

    @property
    def account_key(self) -> str:
        """The tenant and, hashed, its key: what was cached with one key (one workspace's
        view) is not reused after the tenant saves another."""
        return account_key(self.tenant_id, self.base_url, self.api_key)

    @classmethod
    def for_tenant(
        cls, tenant_id: str, api_key: str, base_url_override: str | None = None
    ) -> UnthreadTarget:
        """Build the target from a tenant's saved Unthread key."""
        key = api_key.strip()
        if not key:
            raise ValueError("the Unthread API key is empty")
        return cls(tenant_id=tenant_id, base_url=base_url_for(base_url_override), api_key=key)
