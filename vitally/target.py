"""Where one tenant's Vitally calls go, and with which credential.

A `VitallyTarget` travels with every client call, so one shared client and connection pool serve
all tenants and a tenant's key can only ever be sent on that tenant's calls.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Literal

from apiclient.target import account_key

Region = Literal["us", "eu"]

# Vitally's EU data center is one shared host: the tenant is known from the key, not the host.
EU_BASE_URL = "https://rest.vitally-eu.io"
_US_BASE_URL = "https://{subdomain}.rest.vitally.io"

# One DNS label. Anything else (dots, slashes, "@") could point the key at a host we do not mean.
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_BASIC_PREFIX = re.compile(r"^basic(?:\s+|$)", re.IGNORECASE)


def base_url_for(subdomain: str, region: Region, override: str | None = None) -> str:
    """The API root for a tenant, without a trailing slash.

    `override` (VITALLY_BASE_URL: the sandbox, tests) wins for every tenant and region.
    Raises ValueError for a US subdomain that is not a single DNS label.
    """
    if override:
        return override.rstrip("/")
    if region == "eu":
        return EU_BASE_URL
    label = subdomain.strip().lower()
    if not _SUBDOMAIN.match(label):
        raise ValueError(
            "subdomain must be a single DNS label, as in https://<subdomain>.vitally.io"
        )
    return _US_BASE_URL.format(subdomain=label)


def basic_auth_value(api_key: str) -> str:
    """The full `Authorization` header value for whatever form of the key a user pasted.

    Vitally shows both a secret token and a ready-made "Basic Auth Header" value, which is
    base64("<token>:"); Unthread's docs tell users to paste the latter without "Basic ". So:
    strip whitespace and a leading "Basic ", keep an already-encoded value, encode a raw token.
    """
    value = _BASIC_PREFIX.sub("", api_key.strip(), count=1)
    if not value:
        raise ValueError("the Vitally API key is empty")
    if _is_encoded_credentials(value):
        return f"Basic {value}"
    # Basic-auth user names cannot contain ":", so a trailing one is already the separator.
    credentials = value if value.endswith(":") else value + ":"
    return "Basic " + base64.b64encode(credentials.encode("utf-8")).decode("ascii")


def _is_encoded_credentials(value: str) -> bool:
    """True when `value` is base64 of "<something>:" (empty password), as Vitally shows it."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return len(decoded) > 1 and decoded.endswith(":")


@dataclass(frozen=True)
class VitallyTarget:
    """One tenant's Vitally endpoint and credential; repr and str never show the credential."""

    tenant_id: str
    base_url: str
    authorization: str = field(repr=False)

    @property
    def account_key(self) -> str:
        """The tenant and, hashed, its Vitally account: what is cached from one account must
        not be reused after a reconnect with another key or account."""
        return account_key(self.tenant_id, self.base_url, self.authorization)

    @classmethod
    def for_tenant(
        cls,
        tenant_id: str,
        subdomain: str,
        region: Region,
        api_key: str,
        base_url_override: str | None = None,
    ) -> VitallyTarget:
        """Build the target from a tenant's saved integration settings."""
        return cls(
            tenant_id=tenant_id,
            base_url=base_url_for(subdomain, region, base_url_override),
            authorization=basic_auth_value(api_key),
        )
