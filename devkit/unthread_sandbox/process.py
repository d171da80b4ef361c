"""The sandbox as a real server in a subprocess, and a sync client for its control API.

`run_sandbox(...)` starts `python -m unthread_sandbox` on a free loopback port and yields an
`UnthreadSandboxHandle`: its `api_url` is what the service under test gets as
UNTHREAD_BASE_URL, and its helpers drive the control API.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from devtools.processes import serve_module

from unthread_sandbox.gateway import API_PREFIX


class UnthreadSandboxHandle:
    """A running sandbox server and a sync client for its control API."""

    def __init__(self, base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.base_url = base_url
        self.api_url = base_url + API_PREFIX
        self.process = process
        self.log_path = log_path
        self.http = httpx.Client(base_url=base_url, timeout=10.0)

    def add_tenant(
        self,
        tenant_id: str,
        *,
        keys: list[str | dict[str, Any]],
        users: list[dict[str, Any]] | None = None,
        conversations: list[dict[str, Any]] | None = None,
        rate_limit: int | None = None,
    ) -> dict[str, Any]:
        """Create or replace a tenant; the answer lists its users with their ids."""
        body: dict[str, Any] = {
            "id": tenant_id,
            "keys": keys,
            "users": users or [],
            "conversations": conversations or [],
        }
        if rate_limit is not None:
            body["rateLimit"] = rate_limit
        return self._call("POST", "/_sandbox/tenants", json=body)

    def add_user(self, tenant_id: str, **user: Any) -> dict[str, Any]:
        return self._call("POST", f"/_sandbox/tenants/{tenant_id}/users", json=user)

    def add_conversation(self, tenant_id: str, **conversation: Any) -> dict[str, Any]:
        path = f"/_sandbox/tenants/{tenant_id}/conversations"
        return self._call("POST", path, json=conversation)

    def set_keys(self, tenant_id: str, keys: list[str | dict[str, Any]]) -> dict[str, Any]:
        return self._call("PUT", f"/_sandbox/tenants/{tenant_id}/keys", json={"keys": keys})

    def stats(self, tenant_id: str) -> dict[str, Any]:
        return self._call("GET", f"/_sandbox/tenants/{tenant_id}/stats")

    def set_faults(self, tenant_id: str | None = None, **faults: Any) -> dict[str, Any]:
        """Change fault settings globally, or for one tenant when `tenant_id` is given."""
        path = f"/_sandbox/tenants/{tenant_id}/faults" if tenant_id else "/_sandbox/faults"
        return self._call("PUT", path, json=faults)

    def requests(self, tenant_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Recent /api requests, oldest first."""
        params: dict[str, str | int] = {"limit": limit}
        if tenant_id is not None:
            params["tenant"] = tenant_id
        response = self.http.get("/_sandbox/requests", params=params)
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()
        return entries

    def reset(self, *, reseed: bool = False) -> None:
        """Wipe all state and restore the start-up faults; `reseed` reloads start-up tenants."""
        self._call("POST", "/_sandbox/reset", json={"reseed": reseed})

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(method, path, **kwargs)
        response.raise_for_status()
        result = response.json()
        if not isinstance(result, dict):
            raise TypeError(f"{method} {path} answered {result!r}, not an object")
        return result


@contextmanager
def run_sandbox(
    seed: dict[str, Any] | None = None, *, random_seed: int = 0, **faults: Any
) -> Iterator[UnthreadSandboxHandle]:
    """Serve a sandbox holding `seed`'s tenants, with `faults` on top of the seed's own."""
    startup = dict(seed or {})
    startup["faults"] = {**startup.get("faults", {}), **faults}
    with serve_module("unthread_sandbox", startup, random_seed=random_seed) as served:
        handle = UnthreadSandboxHandle(served.base_url, served.process, served.log_path)
        try:
            yield handle
        finally:
            handle.close()
