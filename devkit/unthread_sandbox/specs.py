"""What the control API and seed files accept: tenants, their API keys, users, conversations.

Tenants, keys and users are the sandbox's own shapes and reject unknown fields, so a typo in
a test's seed fails loudly. A conversation is Unthread's own object, which has dozens of
fields; it is kept as given, with only `id` required.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sandboxkit.specs import ResetSpec as ResetSpec
from sandboxkit.specs import SeedBase, Spec


class KeySpec(Spec):
    """A service-account API key; a `disabled` one is known but refused with 403."""

    key: str = Field(min_length=1)
    disabled: bool = False


class UserSpec(Spec):
    """An Unthread user: an agent or a customer's Slack user, as `POST /users/list` lists it."""

    id: str | None = Field(default=None, min_length=1)
    name: str | None = None
    email: str | None = None
    slack_id: str | None = Field(default=None, alias="slackId")
    photo: str | None = None


class ConversationSpec(BaseModel):
    """An Unthread conversation as `GET /conversations/:id` answers it.

    Besides Unthread's fields, `submitterUserId` (sandbox only, never answered) names a seeded
    user to expand into `submitterUser`; `assignedToUserId` expands into `assignedToUser`, and
    an `initialMessage`'s `userId` (Slack id) and `sentByUserId` into `user` and `sentByUser`,
    unless the seed gives those objects itself.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(min_length=1)

    def fields(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class MessageSpec(BaseModel):
    """A message posted into a seeded conversation through the control API; like a
    conversation it is Unthread's own object, kept as given, with `id` required."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(min_length=1)

    def fields(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class MessageEdit(Spec):
    """Body of `PATCH /_sandbox/tenants/{id}/conversations/{cid}/messages/{mid}`."""

    text: str


class TenantSpec(Spec):
    """An Unthread workspace; posting one with an existing id replaces it whole."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    keys: list[str | KeySpec] = Field(default_factory=list)
    rate_limit: int | None = Field(default=None, ge=1, alias="rateLimit")
    users: list[UserSpec] = Field(default_factory=list)
    conversations: list[ConversationSpec] = Field(default_factory=list)


class KeysSpec(Spec):
    """Body of `PUT /_sandbox/tenants/{id}/keys`."""

    keys: list[str | KeySpec]


class SeedFile(SeedBase):
    """A seed file: the tenants to create at start-up and the fault settings to start with."""

    tenants: list[TenantSpec] = Field(default_factory=list)


def key_specs(keys: list[str | KeySpec]) -> list[KeySpec]:
    """Bare strings are enabled keys."""
    return [KeySpec(key=k) if isinstance(k, str) else k for k in keys]
