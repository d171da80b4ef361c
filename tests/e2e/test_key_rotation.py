"""Rotating SECRETS_KEY without losing a tenant, and the operators' CLI for connecting.

Rotation as the README tells operators to do it: run with the new key prepended
(``SECRETS_KEY=k2,k1``), ``vitally-sync rotate-secrets``, then drop the old key.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from demo.events import new_conversation
from devtools.processes import ROOT, free_port

from integrations.secrets import SecretBox, UndecryptableSecret
from schemas.integration import IntegrationRecord
from tests.e2e.tenant_api import Api, basic, wait_for
from tests.fixtures.kafka import KafkaBroker, consume_all, produce
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import CLI, Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ROTATE"
TOKEN = "acme-rotation-secret"


def _latest(deployed: Deployment) -> IntegrationRecord:
    records = consume_all(deployed.bootstrap, deployed.integrations_topic, timeout_s=15)
    return IntegrationRecord.from_json(
        [r.value for r in records if r.key == TENANT.encode() and r.value][-1]
    )


def _sync_one(deployed: Deployment, conversation_id: str, produced: int) -> None:
    deployed.produce([
        new_conversation(TENANT, conversation_id, submitter="jane@customer.example",
                         assignee=None, title="Rotation", text="hi", at=datetime.now(UTC))
    ])  # fmt: skip
    audit = {a["conversationId"]: a for a in deployed.audit(expected=produced)}
    assert audit[conversation_id]["outcome"] == "synced", audit[conversation_id]


def test_rotating_secrets_key_keeps_every_tenant_syncing(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    sandbox.add_org(
        "acme", tokens=[TOKEN], users=[{"email": "jane@customer.example"}],
        admins=[{"email": "ops@vendor.example", "licenseStatus": "active"}],
    )  # fmt: skip
    k1, k2 = deployed.secrets_key, Fernet.generate_key().decode()

    worker = deployed.start_worker()  # SECRETS_KEY=k1
    Api(worker, deployed.admin_token).connect(TENANT, "acme", basic(TOKEN))
    _sync_one(deployed, "c-rot-1", produced=1)
    worker.stop()
    with pytest.raises(UndecryptableSecret):  # k2 alone could not read it yet
        SecretBox(k2).decrypt(_latest(deployed).api_key_encrypted)

    deployed.secrets_key = f"{k2},{k1}"  # the new key first; the old one still decrypts
    worker = deployed.start_worker()
    rotated = json.loads(deployed.cli("rotate-secrets").stdout)
    assert rotated == {"rotated": 1, "undecryptable": []}
    assert SecretBox(k2).decrypt(_latest(deployed).api_key_encrypted) == f"Basic {basic(TOKEN)}"
    _sync_one(deployed, "c-rot-2", produced=2)
    worker.stop()

    deployed.secrets_key = k2  # the old key is gone
    # Audit records no worker wrote: the counts come from the workers' summaries, so a
    # worker's start and `status` do not read the audit topic, and these count nowhere.
    real = deployed.audit(expected=2)[0]
    produce(deployed.bootstrap, deployed.audit_topic, [
        (b"c-stray", json.dumps(real | {
            "outcome": "failed", "reason": "internal_error",
            "source": {**real["source"], "offset": 10_000 + n},
        }).encode(), ())
        for n in range(50)
    ])  # fmt: skip
    worker = deployed.start_worker()
    _sync_one(deployed, "c-rot-3", produced=3 + 50)

    def counted() -> dict[str, Any] | None:
        status: dict[str, Any] = json.loads(deployed.cli("status", "--tenant", TENANT).stdout)
        return status if status["syncCounts"]["total"] >= 3 else None

    # Counted by three workers in turn, each carrying on from the last one's summary.
    status = wait_for(counted, what="the sync counts of three workers")
    assert status["status"] == "connected" and "apiKeyEncrypted" not in status
    assert status["syncCounts"]["byOutcome"] == {"synced": 3}
    assert status["syncCounts"]["complete"] is True
    shown = Api(worker, deployed.admin_token).get(TENANT).json()
    assert shown["syncCounts"]["byOutcome"] == {"synced": 3}
    assert [c["externalId"] for c in sandbox.conversations("acme")] == [
        "c-rot-1", "c-rot-2", "c-rot-3",
    ]  # fmt: skip


def test_cli_connect_reports_unreachable_vitally_and_reads_the_key_from_stdin(
    kafka_bootstrap: KafkaBroker, tmp_path: Path
) -> None:
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    closed = Deployment(kafka_bootstrap.bootstrap_servers, nothing_listens, tmp_path)
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), "connect", "--tenant", TENANT, "--subdomain", "acme", "--api-key", "-",
         "--default-admin-email", "ops@vendor.example"],
        input=f"{TOKEN}\n", env=closed.env(), cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["error"] == "vitally_unreachable" and error["message"]
    assert TOKEN not in result.stderr + result.stdout
    missing = closed.cli("status", "--tenant", TENANT, check=False)
    assert missing.returncode == 2 and json.loads(missing.stderr)["error"] == "not_connected"
