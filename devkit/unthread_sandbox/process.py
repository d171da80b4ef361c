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

from sandboxkit.process import BaseSandboxHandle, serve_sandbox

from unthread_sandbox.gateway import API_PREFIX


class UnthreadSandboxHandle(BaseSandboxHandle):
    """A running sandbox server and a sync client for its control API."""

    module = "unthread_sandbox"
    plural = "tenants"
    singular = "tenant"

    def __init__(self, base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        super().__init__(base_url, process, log_path)
        self.api_url = base_url + API_PREFIX

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
        return self._object("POST", "/_sandbox/tenants", json=body)

    def add_user(self, tenant_id: str, **user: Any) -> dict[str, Any]:
        return self._object("POST", f"/_sandbox/tenants/{tenant_id}/users", json=user)

    def add_conversation(self, tenant_id: str, **conversation: Any) -> dict[str, Any]:
        path = f"/_sandbox/tenants/{tenant_id}/conversations"
        return self._object("POST", path, json=conversation)

    def update_conversation(
        self, tenant_id: str, conversation_id: str, **changes: Any
    ) -> dict[str, Any]:
        """Change a conversation as an agent would, without any event being sent."""
        return self._object("PATCH", self._thread(tenant_id, conversation_id), json=changes)

    def post_message(self, tenant_id: str, conversation_id: str, **message: Any) -> dict[str, Any]:
        path = self._thread(tenant_id, conversation_id) + "/messages"
        return self._object("POST", path, json=message)

    def edit_message(
        self, tenant_id: str, conversation_id: str, message_id: str, text: str
    ) -> dict[str, Any]:
        path = f"{self._thread(tenant_id, conversation_id)}/messages/{message_id}"
        return self._object("PATCH", path, json={"text": text})

    def delete_message(
        self, tenant_id: str, conversation_id: str, message_id: str
    ) -> dict[str, Any]:
        path = f"{self._thread(tenant_id, conversation_id)}/messages/{message_id}"
        return self._object("DELETE", path)

    @staticmethod
    def _thread(tenant_id: str, conversation_id: str) -> str:
        return f"/_sandbox/tenants/{tenant_id}/conversations/{conversation_id}"

    def set_keys(self, tenant_id: str, keys: list[str | dict[str, Any]]) -> dict[str, Any]:
        return self._object("PUT", f"/_sandbox/tenants/{tenant_id}/keys", json={"keys": keys})

    def stats(self, tenant_id: str) -> dict[str, Any]:
        return self.tenant_stats(tenant_id)

    def set_faults(self, tenant_id: str | None = None, **faults: Any) -> dict[str, Any]:
        """Change fault settings globally, or for one tenant when `tenant_id` is given."""
        return self.update_faults(tenant_id, faults)

    def requests(self, tenant_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Recent /api requests, oldest first."""
        return self.recent_requests(tenant_id, limit)


@contextmanager
def run_sandbox(
    seed: dict[str, Any] | None = None, *, random_seed: int = 0, **faults: Any
) -> Iterator[UnthreadSandboxHandle]:
    """Serve a sandbox holding `seed`'s tenants, with `faults` on top of the seed's own."""
    with serve_sandbox(
        UnthreadSandboxHandle, seed, random_seed=random_seed, faults=faults
    ) as handle:
        yield handle
