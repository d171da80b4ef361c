"""Rotating SECRETS_KEY without losing a tenant, and the operators' CLI for connecting.

Rotation as the README tells operators to do it: run with the new key prepended
(``SECRETS_KEY=k2,k1``), ``vitally-sync rotate-secrets``, then drop the old key.
"""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from demo.events import new_conversation
from devtools.processes import ROOT, free_port

from integrations.secrets import SecretBox, UndecryptableSecret
from integrations.topic import Entry, latest
from schemas.integration import IntegrationRecord
from tests.e2e.tenant_api import Api, basic, wait_for
from tests.faults.offsets import end_offsets
from tests.fixtures.kafka import KafkaBroker, consume_all, create_topic, produce
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import CLI, Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ROTATE"
TOKEN = "acme-rotation-secret"
NEW_TOKEN = "acme-rotation-secret-2"
# Enough records that the rotation is still writing when the racing writes land.
RACING_TENANTS = 40


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


def test_rotation_with_a_running_worker_and_a_concurrent_reconnect_and_recheck(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    """rotate-secrets while a worker runs: once its first write is on the topic (it has read
    every record), the last tenant reconnects through the worker's API with a new key and the
    one before it is re-checked through the CLI. The rotation's copies of their older records
    land after those writes; the reconnect and the re-check still stand for the worker and
    the CLI alike, and each tenant's last record on the topic (what compaction keeps) is its
    current one, under the new key."""
    sandbox.add_org(
        "acme", tokens=[TOKEN, NEW_TOKEN], users=[{"email": "jane@customer.example"}],
        admins=[{"email": "ops@vendor.example", "licenseStatus": "active"}],
    )  # fmt: skip
    k1, k2 = deployed.secrets_key, Fernet.generate_key().decode()
    deployed.secrets_key = f"{k2},{k1}"
    worker = deployed.start_worker()  # creates the topics
    api = Api(worker, deployed.admin_token)
    # Stored under k1 only, as before a rotation; many, so that the rotation writes for a while.
    tenants = [f"T{i:02}" for i in range(RACING_TENANTS)]
    produce(deployed.bootstrap, deployed.integrations_topic, [
        (t.encode(), _stored(t, SecretBox(k1)).to_json(), []) for t in tenants
    ])  # fmt: skip
    wait_for(lambda: api.get(tenants[-1]).status_code == 200, what="the worker has the tenants")
    reconnecting, rechecked = tenants[-1], tenants[-2]

    with ThreadPoolExecutor(2) as pool:
        rotation = pool.submit(deployed.cli, "rotate-secrets")
        wait_for(
            lambda: _log_size(deployed) > RACING_TENANTS, timeout=60,
            what="the rotation's first write",
        )  # fmt: skip
        recheck = pool.submit(deployed.cli, "recheck", "--tenant", rechecked)
        fingerprint = api.connect(reconnecting, "acme", basic(NEW_TOKEN))["keyFingerprint"]
        recheck.result()
        assert json.loads(rotation.result().stdout)["undecryptable"] == []

    log = _log(deployed)
    written = [e.record.key_fingerprint for e in log if e.tenant_id == reconnecting and e.record]
    # The race happened: a rotated copy of the older record landed after the reconnect.
    assert fingerprint in written[:-1] and written.index(fingerprint) < len(written) - 2, written
    current = latest(log)
    assert set(current) == set(tenants)
    for tenant, held in current.items():
        assert held.last, f"{tenant}: an older record was written after its current one"
        SecretBox(k2).decrypt(held.record.api_key_encrypted)  # the new key alone reads it
    assert current[reconnecting].record.key_fingerprint == fingerprint
    assert current[rechecked].record.recheck_requested_at is not None
    assert deployed.status(reconnecting)["keyFingerprint"] == fingerprint
    assert deployed.status(rechecked)["recheckRequestedAt"] is not None
    assert api.get(reconnecting).json()["keyFingerprint"] == fingerprint
    assert api.get(rechecked).json()["recheckRequestedAt"] is not None
    deployed.produce([
        new_conversation(reconnecting, "c-after", submitter="jane@customer.example",
                         assignee=None, title="Rotation", text="hi", at=datetime.now(UTC))
    ])  # fmt: skip
    (audit,) = deployed.audit(expected=1)
    assert audit["outcome"] == "synced", audit


def test_every_integrations_write_goes_to_partition_0_of_a_topic_made_with_several(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    """Connects through the API, a re-check through the CLI and a worker's own
    needs_attention all write partition 0, so a tenant's records keep their order on a topic
    made with three."""
    create_topic(deployed.bootstrap, deployed.integrations_topic, partitions=3)
    sandbox.add_org(
        "acme", tokens=[TOKEN], users=[{"email": "jane@customer.example"}],
        admins=[{"email": "ops@vendor.example", "licenseStatus": "active"}],
    )  # fmt: skip
    worker = deployed.start_worker()
    api = Api(worker, deployed.admin_token)
    tenants = [f"T-PART-{i}" for i in range(6)]  # their keys hash to every partition
    for tenant in tenants:
        api.connect(tenant, "acme", basic(TOKEN))
    deployed.cli("recheck", "--tenant", tenants[1])
    sandbox.set_tokens("acme", [NEW_TOKEN])  # Vitally now refuses the stored key
    deployed.produce(
        new_conversation(tenant, f"c-{tenant}", submitter="jane@customer.example",
                         assignee=None, title="Refused", text="hi", at=datetime.now(UTC))
        for tenant in tenants
    )  # fmt: skip
    wait_for(
        lambda: all(api.get(t).json()["status"] == "needs_attention" for t in tenants),
        what="the worker to flag every refused key",
    )  # fmt: skip
    records = consume_all(deployed.bootstrap, deployed.integrations_topic, timeout_s=15)
    flagged = [r for r in records if r.value and b'"needs_attention"' in r.value]
    assert len(flagged) == len(tenants) and len(records) == 2 * len(tenants) + 1
    assert {r.partition for r in records} == {0}


def _stored(tenant: str, box: SecretBox) -> IntegrationRecord:
    at = datetime.now(UTC)
    return IntegrationRecord(
        tenant_id=tenant, status="connected", subdomain="acme",
        default_admin_email="ops@vendor.example",
        api_key_encrypted=box.encrypt(f"Basic {basic(TOKEN)}"), key_fingerprint="sha256:0",
        connected_at=at, updated_at=at,
    )  # fmt: skip


def _log(deployed: Deployment) -> list[Entry]:
    records = consume_all(deployed.bootstrap, deployed.integrations_topic, timeout_s=15)
    return [
        Entry(r.key.decode(), IntegrationRecord.from_json(r.value) if r.value else None)
        for r in records
        if r.key
    ]


def _log_size(deployed: Deployment) -> int:
    return sum(end_offsets(deployed.bootstrap, deployed.integrations_topic).values())


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
