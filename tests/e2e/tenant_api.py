"""Helpers for the tenant API end-to-end tests: an HTTP client for a worker, waiting, and
reading back everything a deployment wrote to Kafka."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from confluent_kafka.admin import AdminClient

from tests.fixtures.kafka import Record, consume_all
from tests.fixtures.worker import Deployment, WorkerProcess

T = TypeVar("T")
PATH = "/tenants/{tenant}/integrations/vitally"


def basic(token: str) -> str:
    """The value Vitally shows as a key's Basic auth header (without "Basic ")."""
    return base64.b64encode(f"{token}:".encode()).decode()


class Api:
    """The tenant endpoints of one worker, with the deployment's admin token."""

    def __init__(self, worker: WorkerProcess, admin_token: str) -> None:
        self.http = httpx.Client(
            base_url=worker.web_url, timeout=30, headers={"Authorization": f"Bearer {admin_token}"}
        )

    def put(self, tenant: str, **body: Any) -> httpx.Response:
        return self.http.put(PATH.format(tenant=tenant), json=body)

    def connect(self, tenant: str, subdomain: str, api_key: str, **extra: Any) -> dict[str, Any]:
        """PUT the settings (the key as given: any form a user may paste) and expect 200."""
        answer = self.put(
            tenant, subdomain=subdomain, apiKey=api_key,
            defaultAdminEmail="ops@vendor.example", **extra,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def get(self, tenant: str) -> httpx.Response:
        return self.http.get(PATH.format(tenant=tenant))

    def delete(self, tenant: str) -> httpx.Response:
        return self.http.delete(PATH.format(tenant=tenant))


def error_of(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["message"], body
    return response.status_code, str(body["error"])


def wait_for(check: Callable[[], T | None], timeout: float = 30.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what or check}")
        time.sleep(0.2)


def topics_of(deployment: Deployment) -> list[str]:
    """Every topic of the deployment: its named topics and Faust's (changelogs, assignor)."""
    names = AdminClient({"bootstrap.servers": deployment.bootstrap}).list_topics(timeout=30).topics
    return sorted(name for name in names if name.startswith(deployment.name))


def raw_bytes(deployment: Deployment, topic: str) -> list[bytes]:
    """Keys, values and header values of every record of `topic`, as stored."""
    chunks: list[bytes] = []
    record: Record
    for record in consume_all(deployment.bootstrap, topic, timeout_s=15):
        chunks += [record.key or b"", record.value or b""]
        chunks += [value or b"" for _, value in record.headers]
    return chunks
