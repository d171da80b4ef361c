"""Never silent: a tenant whose stored key the worker cannot decrypt (it was encrypted with a
SECRETS_KEY this worker lacks) has its events parked, is counted by /ready and named in the
log; a worker whose SECRETS_KEY decrypts no stored key at all is not ready, and says why."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from demo.events import new_conversation

from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import CLI, Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

PEOPLE: dict[str, Any] = {
    "users": [{"email": "jane@customer.example", "name": "Jane Doe"}],
    "admins": [{"email": "ops@vendor.example", "name": "Ops", "licenseStatus": "active"}],
}


def _ready(url: str) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"{url}/ready", timeout=5)
    return answer.status_code, dict(answer.json())


def test_an_undecryptable_key_parks_its_events_and_a_wrong_secrets_key_is_not_ready(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    sandbox.add_org("acme", tokens=["acme-secret"], **PEOPLE)
    sandbox.add_org("beta", tokens=["beta-secret"], **PEOPLE)
    deployed.connect("T-OK", subdomain="acme", api_key="acme-secret")
    # T-STALE's key is encrypted with a SECRETS_KEY the workers do not have.
    subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), "connect", "--tenant", "T-STALE", "--subdomain", "beta", "--api-key",
         "beta-secret", "--default-admin-email", "ops@vendor.example"],
        env=deployed.env(SECRETS_KEY=Fernet.generate_key().decode()), check=True,
        capture_output=True, timeout=120,
    )  # fmt: skip
    worker = deployed.start_worker()
    status, body = _ready(worker.web_url)
    assert status == 200
    # Counted, never named: the probe is open.
    assert body["tenantsNeedingAttentionCount"] == 1
    assert body["tenantsNeedingAttentionByReason"] == {"secret_undecryptable": 1}
    assert "T-STALE" not in json.dumps(body)

    now = datetime.now(UTC)
    deployed.produce(
        new_conversation(tenant, f"c-{tenant}", submitter="jane@customer.example",
                         assignee=None, title="Help", text="Hello", at=now)
        for tenant in ("T-OK", "T-STALE")
    )  # fmt: skip
    audits = {a["tenantId"]: a for a in deployed.audit(2)}
    assert (audits["T-OK"]["outcome"], audits["T-OK"]["reason"]) == ("synced", None)
    stale = audits["T-STALE"]
    assert (stale["outcome"], stale["reason"]) == ("parked", "integration_needs_attention")
    assert sandbox.conversations("beta") == []
    assert "T-STALE" in worker.log_tail(400)
    worker.stop()

    # Nothing this worker's SECRETS_KEY can decrypt: its key is wrong, not the tenants'.
    wrong = deployed.start_worker(wait=False, SECRETS_KEY=Fernet.generate_key().decode())
    deadline = time.monotonic() + 60
    while True:
        try:
            status, body = _ready(wrong.web_url)
            if body["checks"]["integrations_loaded"] and body["checks"]["started"]:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, wrong.log_tail()
        time.sleep(0.5)
    assert status == 503 and body["checks"]["secrets_key_decrypts"] is False
    assert "SECRETS_KEY decrypts none of the 2 stored tenant keys" in body["message"]
