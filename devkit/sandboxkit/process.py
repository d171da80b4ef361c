"""A sandbox as a real server in a subprocess, and a sync client for its control API.

Each sandbox subclasses `BaseSandboxHandle` with its module and its seeding helpers, and
serves itself with `serve_sandbox`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
from devtools.processes import serve_module


class BaseSandboxHandle:
    """A running sandbox server and a sync client for its control API."""

    # The sandbox's module (`python -m <module>`), and what it calls its tenants in the
    # control API's paths ("orgs") and in the request log's filter ("org").
    module: ClassVar[str]
    plural: ClassVar[str]
    singular: ClassVar[str]

    def __init__(self, base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.base_url = base_url
        self.process = process
        self.log_path = log_path
        self.http = httpx.Client(base_url=base_url, timeout=10.0)

    def tenant_path(self, tenant: str) -> str:
        return f"/_sandbox/{self.plural}/{tenant}"

    def tenant_stats(self, tenant: str) -> dict[str, Any]:
        return self._object("GET", f"{self.tenant_path(tenant)}/stats")

    def update_faults(self, tenant: str | None, faults: dict[str, Any]) -> dict[str, Any]:
        """Change fault settings globally, or for one tenant when `tenant` is given."""
        path = f"{self.tenant_path(tenant)}/faults" if tenant else "/_sandbox/faults"
        return self._object("PUT", path, json=faults)

    def recent_requests(self, tenant: str | None, limit: int) -> list[dict[str, Any]]:
        """Recent API requests, oldest first; only `tenant`'s when given."""
        params: dict[str, str | int] = {"limit": limit}
        if tenant is not None:
            params[self.singular] = tenant
        return self._list("GET", "/_sandbox/requests", params=params)

    def reset(self, *, reseed: bool = False) -> None:
        """Wipe all state and restore the start-up faults; `reseed` reloads start-up tenants."""
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


HandleT = TypeVar("HandleT", bound=BaseSandboxHandle)


@contextmanager
def serve_sandbox(
    handle: type[HandleT], seed: dict[str, Any] | None, *, random_seed: int, faults: dict[str, Any]
) -> Iterator[HandleT]:
    """Serve `handle.module` holding `seed`'s tenants, with `faults` on top of the seed's own."""
    startup = dict(seed or {})
    startup["faults"] = {**startup.get("faults", {}), **faults}
    with serve_module(handle.module, startup, random_seed=random_seed) as served:
        running = handle(served.base_url, served.process, served.log_path)
        try:
            yield running
        finally:
            running.close()
