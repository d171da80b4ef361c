"""In-process harness for the Unthread sandbox tests: the ASGI app behind httpx, a manual clock
and a sleeper that records instead of waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from unthread_sandbox import create_app

from tests.sandbox_harness import SandboxHarness, harness_factory

ACME_KEY = "acme-unthread-key"
DISABLED_KEY = "acme-disabled-key"
GLOBEX_KEY = "globex-unthread-key"
CONV = "26884dc8-0000-4000-8000-000000000001"

SEED: dict[str, Any] = {
    "tenants": [
        {
            "id": "T01ACME",
            "keys": [ACME_KEY, {"key": DISABLED_KEY, "disabled": True}],
            "users": [
                {"id": "4e1cc76a-agent", "name": "Sam Agent", "email": "sam@vendor.example",
                 "slackId": "U0SAM"},
                {"id": "9a1b-jane", "name": "Jane Doe", "email": "jane@customer.example",
                 "slackId": "U08D38QMGQ7"},
                {"id": "9a1b-bob", "name": "Bob Roe", "email": "bob@customer.example",
                 "slackId": "U0BOB"},
            ],
            "conversations": [
                {"id": CONV, "title": "CSV export fails", "status": "open",
                 "submitterUserId": "9a1b-jane", "assignedToUserId": "4e1cc76a-agent",
                 "createdAt": "2026-11-25T10:00:00.000Z",
                 "initialMessage": {"id": "T08-C08-1748707942.332879", "ts": "1748707942.332879",
                                    "text": "Export fails", "userId": "U08D38QMGQ7"}},
            ],
        },
        {"id": "T02GLOBEX", "keys": [GLOBEX_KEY], "users": [{"id": "g-1", "email": "a@g.example"}]},
    ]
}  # fmt: skip


@dataclass
class Harness(SandboxHarness):
    """One in-process sandbox: `client` speaks as acme, `control` carries no credentials."""

    async def users(self, **query: Any) -> httpx.Response:
        return await self.client.post("/api/users/list", json=query)


MakeHarness = Callable[..., Harness]


@pytest.fixture
async def make_harness() -> AsyncIterator[MakeHarness]:
    """Build a harness: keyword arguments go to `create_app` (seed defaults to SEED)."""
    async with harness_factory(
        Harness, create_app, seed=SEED, headers={"X-Api-Key": ACME_KEY}
    ) as build:
        yield build


@pytest.fixture
def harness(make_harness: MakeHarness) -> Harness:
    return make_harness()
