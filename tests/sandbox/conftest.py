"""In-process harness for the sandbox tests: the ASGI app behind httpx, a manual clock and a
sleeper that records instead of waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from vitally_sandbox import basic_header, create_app

from tests.sandbox_harness import SandboxHarness, harness_factory

ACME_TOKEN = "acme-secret"
USERS_ONLY_TOKEN = "acme-users-only"
GLOBEX_TOKEN = "globex-secret"

SEED: dict[str, Any] = {
    "orgs": [
        {
            "subdomain": "acme",
            "tokens": [ACME_TOKEN, {"token": USERS_ONLY_TOKEN, "scopes": ["users"]}],
            "users": [
                {"id": "u-jane", "email": "Jane@Customer.example", "name": "Jane Doe",
                 "externalId": "ext-jane"},
                {"id": "u-bob", "email": "bob@customer.example", "name": "Bob Roe"},
                {"id": "u-ann", "email": "ann@elsewhere.example"},
            ],
            "admins": [
                {"id": "a-sam", "email": "sam@vendor.example", "name": "Sam Agent"},
                {"id": "a-old", "email": "old@vendor.example", "licenseStatus": "deactivated"},
            ],
        },
        {
            "subdomain": "globex",
            "tokens": [GLOBEX_TOKEN],
            "users": [{"id": "g-ann", "email": "ann@globex.example"}],
            "admins": [{"id": "g-ops", "email": "ops@vendor.example"}],
        },
    ]
}  # fmt: skip


def auth(token: str = ACME_TOKEN) -> dict[str, str]:
    return {"Authorization": basic_header(token)}


def message(
    external_id: str = "m-1",
    sender: tuple[str, str] = ("user", "u-jane"),
    to: tuple[str, str] = ("admin", "a-sam"),
    **extra: Any,
) -> dict[str, Any]:
    """A valid message body; `extra` adds or replaces fields."""
    body: dict[str, Any] = {
        "externalId": external_id,
        "message": "<p>Hello</p>",
        "from": {"type": sender[0], "id": sender[1]},
        "to": [{"type": to[0], "id": to[1]}],
    }
    return {**body, **extra}


def conversation(external_id: str = "thread-1", **extra: Any) -> dict[str, Any]:
    """A valid create-conversation body with one inbound message."""
    body: dict[str, Any] = {
        "externalId": external_id,
        "subject": "Help",
        "messages": [message()],
        "traits": {"source": "unthread"},
    }
    return {**body, **extra}


@dataclass
class Harness(SandboxHarness):
    """One in-process sandbox: `client` speaks as acme, `control` carries no credentials."""

    async def post_conversation(self, **extra: Any) -> httpx.Response:
        return await self.client.post("/resources/conversations", json=conversation(**extra))

    async def stats(self, org: str = "acme") -> dict[str, Any]:
        response = await self.control.get(f"/_sandbox/orgs/{org}/stats")
        result: dict[str, Any] = response.json()
        return result

    async def stored(self, org: str = "acme") -> list[dict[str, Any]]:
        response = await self.control.get(f"/_sandbox/orgs/{org}/conversations")
        result: list[dict[str, Any]] = response.json()
        return result


MakeHarness = Callable[..., Harness]


@pytest.fixture
async def make_harness() -> AsyncIterator[MakeHarness]:
    """Build a harness: keyword arguments go to `create_app` (seed defaults to SEED)."""
    async with harness_factory(Harness, create_app, seed=SEED, headers=auth()) as build:
        yield build


@pytest.fixture
def harness(make_harness: MakeHarness) -> Harness:
    return make_harness()
