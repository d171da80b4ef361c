"""What the control API and seed files accept: orgs, tokens, users and admins.

These shapes are the sandbox's own (not Vitally's), so they reject unknown fields: a typo in a
test's seed should fail loudly rather than quietly seed the wrong thing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from sandboxkit.specs import ResetSpec as ResetSpec
from sandboxkit.specs import SeedBase, Spec

Scope = Literal["users", "admins", "conversations"]
ALL_SCOPES: frozenset[Scope] = frozenset(("users", "admins", "conversations"))
LicenseStatus = Literal["active", "deactivated", "auto-created"]


class TokenSpec(Spec):
    """An API secret token; `scopes` limits which resources it may read or write."""

    token: str = Field(min_length=1)
    scopes: tuple[Scope, ...] | None = None

    def scope_set(self) -> frozenset[Scope]:
        return ALL_SCOPES if self.scopes is None else frozenset(self.scopes)


class UserSpec(Spec):
    id: str | None = Field(default=None, min_length=1)
    email: str = Field(min_length=1)
    name: str | None = None
    external_id: str | None = Field(default=None, alias="externalId")
    traits: dict[str, Any] = Field(default_factory=dict)
    # A deactivated user is still found by search, with its deactivatedAt, as in Vitally.
    deactivated: bool = False


class AdminSpec(Spec):
    id: str | None = Field(default=None, min_length=1)
    email: str = Field(min_length=1)
    name: str | None = None
    license_status: LicenseStatus = Field(default="active", alias="licenseStatus")


class OrgSpec(Spec):
    """A Vitally org (tenant); posting one with an existing subdomain replaces it whole."""

    subdomain: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")
    tokens: list[str | TokenSpec] = Field(default_factory=list)
    rate_limit: int | None = Field(default=None, ge=1, alias="rateLimit")
    users: list[UserSpec] = Field(default_factory=list)
    admins: list[AdminSpec] = Field(default_factory=list)


class TokensSpec(Spec):
    """Body of `PUT /_sandbox/orgs/{subdomain}/tokens`."""

    tokens: list[str | TokenSpec]


class SeedFile(SeedBase):
    """A seed file: the orgs to create at startup and the fault settings to start with."""

    orgs: list[OrgSpec] = Field(default_factory=list)


def token_specs(tokens: list[str | TokenSpec]) -> list[TokenSpec]:
    """Bare strings are tokens with every scope."""
    return [TokenSpec(token=t) if isinstance(t, str) else t for t in tokens]
