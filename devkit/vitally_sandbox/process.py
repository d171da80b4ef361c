"""The sandbox as a real server in a subprocess, and a typed client for its control API.

`run_sandbox(...)` starts `python -m vitally_sandbox` on a free loopback port and yields a
`SandboxHandle`: its `base_url` is what the service under test gets as VITALLY_BASE_URL, and
its helpers drive the control API. The tests' fixtures and the benchmark both build on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sandboxkit.process import BaseSandboxHandle, serve_sandbox

from vitally_sandbox.auth import basic_header


class SandboxHandle(BaseSandboxHandle):
    """A running sandbox server and a sync client for its control API."""

    module = "vitally_sandbox"
    plural = "orgs"
    singular = "org"

    @staticmethod
    def auth_headers(token: str) -> dict[str, str]:
        """The headers a client sends to reach the org owning `token`."""
        return {"Authorization": basic_header(token)}

    def add_org(
        self,
        subdomain: str,
        *,
        tokens: list[str | dict[str, Any]],
        users: list[dict[str, Any]] | None = None,
        admins: list[dict[str, Any]] | None = None,
        rate_limit: int | None = None,
    ) -> dict[str, Any]:
        """Create or replace an org; the answer holds the generated user and admin ids."""
        body: dict[str, Any] = {
            "subdomain": subdomain,
            "tokens": tokens,
            "users": users or [],
            "admins": admins or [],
        }
        if rate_limit is not None:
            body["rateLimit"] = rate_limit
        return self._object("POST", "/_sandbox/orgs", json=body)

    def add_user(self, subdomain: str, **user: Any) -> dict[str, Any]:
        return self._object("POST", f"/_sandbox/orgs/{subdomain}/users", json=user)

    def add_admin(self, subdomain: str, **admin: Any) -> dict[str, Any]:
        return self._object("POST", f"/_sandbox/orgs/{subdomain}/admins", json=admin)

    def set_tokens(self, subdomain: str, tokens: list[str | dict[str, Any]]) -> dict[str, Any]:
        return self._object("PUT", f"/_sandbox/orgs/{subdomain}/tokens", json={"tokens": tokens})

    def conversations(self, subdomain: str) -> list[dict[str, Any]]:
        """Every conversation of the org with its messages, in creation order."""
        return self._list("GET", f"/_sandbox/orgs/{subdomain}/conversations")

    def stats(self, subdomain: str) -> dict[str, Any]:
        return self.tenant_stats(subdomain)

    def set_faults(self, subdomain: str | None = None, **faults: Any) -> dict[str, Any]:
        """Change fault settings globally, or for one org when `subdomain` is given."""
        return self.update_faults(subdomain, faults)

    def requests(self, org: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Recent /resources requests, oldest first."""
        return self.recent_requests(org, limit)


@contextmanager
def run_sandbox(
    seed: dict[str, Any] | None = None, *, random_seed: int = 0, **faults: Any
) -> Iterator[SandboxHandle]:
    """Serve a sandbox holding `seed`'s orgs, with `faults` on top of the seed's own faults."""
    with serve_sandbox(SandboxHandle, seed, random_seed=random_seed, faults=faults) as handle:
        yield handle
