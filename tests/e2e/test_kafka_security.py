"""The whole service through a broker that wants SASL: the worker (Faust's clients, the
integrations and audit tails, the offset probe and start offsets) and the CLI (connect,
status, replay) get only the SASL_PLAINTEXT listener and the KAFKA_SASL_* settings, and a
tenant connects and a conversation syncs. The test's own helpers use the PLAINTEXT listener
of the same broker (kafka_local, started here)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from demo.events import new_conversation, reply
from kafka_local import LocalKafka

from tests.fixtures.sandbox import ACME_TOKEN, SandboxHandle, add_acme
from tests.fixtures.worker import CLI, Deployment, deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"
USER, PASSWORD = "vitally-sync", "sasl-test-password"


@pytest.fixture(scope="module")
def sasl_kafka() -> Iterator[LocalKafka]:
    with LocalKafka(sasl_users={USER: PASSWORD, "someone-else": "other"}) as kafka:
        yield kafka


@pytest.fixture
def sasl_deployed(sasl_kafka: LocalKafka, sandbox: SandboxHandle) -> Iterator[Deployment]:
    service = {
        "KAFKA_BOOTSTRAP_SERVERS": sasl_kafka.sasl_bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_SASL_USERNAME": USER,
        "KAFKA_SASL_PASSWORD": PASSWORD,
    }
    with deployment(sasl_kafka.bootstrap_servers, sandbox.base_url, service_env=service) as d:
        yield d


def test_a_tenant_connects_and_a_conversation_syncs_over_sasl(
    sasl_deployed: Deployment, sandbox: SandboxHandle
) -> None:
    deployed = sasl_deployed
    add_acme(sandbox)
    deployed.connect(TENANT, subdomain="acme", api_key=ACME_TOKEN)
    worker = deployed.start_worker()
    now = datetime.now(UTC)
    sent = deployed.produce([
        new_conversation(TENANT, "c-sasl", submitter="jane@customer.example",
                         assignee="sam@vendor.example", title="Over SASL", text="Hi", at=now),
        reply(TENANT, "c-sasl", "Hello Jane", sender="sam@vendor.example", support=True,
              at=now, message_id="m-sasl"),
    ])  # fmt: skip
    audits = deployed.audit(sent)
    assert [(a["outcome"], a["reason"]) for a in audits] == [("synced", None)] * 2
    [conversation] = sandbox.conversations("acme")
    assert conversation["externalId"] == "c-sasl" and len(conversation["messages"]) == 2

    # The CLI's readers go through SASL too: the counts come from the audit topic.
    status = json.loads(deployed.cli("status", "--tenant", TENANT).stdout)
    assert status["syncCounts"]["byOutcome"] == {"synced": 2}
    dry = deployed.cli("replay", "--to-earliest")
    assert "live member" in dry.stdout  # the group is described through SASL as well
    assert PASSWORD not in worker.log_tail(2000)


def test_a_wrong_password_is_one_clear_line(sasl_deployed: Deployment) -> None:
    result = sasl_deployed.cli("tenants", check=False)
    assert result.returncode == 0  # the right credentials work
    wrong = sasl_deployed.env(KAFKA_SASL_PASSWORD="wrong")
    failed = subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), "tenants"], env=wrong, capture_output=True, text=True, timeout=120
    )
    assert failed.returncode == 1, failed.stderr
    assert failed.stderr.startswith("vitally-sync: Kafka error: ")
    assert failed.stderr.count("\n") == 1 and "wrong" not in failed.stderr
