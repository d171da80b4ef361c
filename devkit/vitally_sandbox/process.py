"""The sandbox as a real server in a subprocess, and a typed client for its control API.

`run_sandbox(...)` starts `python -m vitally_sandbox` on a free loopback port and yields a
`SandboxHandle`: its `base_url` is what the service under test gets as VITALLY_BASE_URL, and
its helpers drive the control API. The tests' fixtures and the benchmark both build on it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from devtools.processes import serve_module

from vitally_sandbox.auth import basic_header


class SandboxHandle:
    """A running sandbox server and a sync client for its control API."""

    def __init__(self, base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.base_url = base_url
        self.process = process
        self.log_path = log_path
        self.http = httpx.Client(base_url=base_url, timeout=10.0)

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
        return self._object("GET", f"/_sandbox/orgs/{subdomain}/stats")

    def set_faults(self, subdomain: str | None = None, **faults: Any) -> dict[str, Any]:
        """Change fault settings globally, or for one org when `subdomain` is given."""
        path = f"/_sandbox/orgs/{subdomain}/faults" if subdomain else "/_sandbox/faults"
        return self._object("PUT", path, json=faults)

    def requests(self, org: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Recent /resources requests, oldest first."""
        params: dict[str, str | int] = {"limit": limit}
        if org is not None:
            params["org"] = org
        return self._list("GET", "/_sandbox/requests", params=params)

    def reset(self, *, reseed: bool = False) -> None:
        """Wipe all state and restore the start-up faults; `reseed` reloads the start-up orgs."""
        self._call("POST", "/_sandbox/reset", json={"reseed": reseed})

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        result = self._call(method, path, **kwargs)
        if not isinstance(result, dict):
            raise TypeError(f"{method} {path} answered {result!r}, not an object")
        return result

    def _list(self, method: str, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        result = self._call(method, path, **kwargs)
        if not isinstance(result, list):
            raise TypeError(f"{method} {path} answered {result!r}, not a list")
        return result


@contextmanager
def run_sandbox(
    seed: dict[str, Any] | None = None, *, random_seed: int = 0, **faults: Any
) -> Iterator[SandboxHandle]:
    """Serve a sandbox holding `seed`'s orgs, with `faults` on top of the seed's own faults."""
    startup = dict(seed or {})
    startup["faults"] = {**startup.get("faults", {}), **faults}
    with serve_module("vitally_sandbox", startup, random_seed=random_seed) as served:
        handle = SandboxHandle(served.base_url, served.process, served.log_path)
        try:
            yield handle
        finally:
            handle.close()
