"""The whole service through a broker that wants mutual TLS, configured as Heroku's Kafka
add-on does it: the brokers as ``kafka+ssl://`` URLs, the CA, the client certificate and its
key as PEM text in variables, and broker certificates that do not name the host they are
reached at (``KAFKA_SSL_CHECK_HOSTNAME=false``). The worker and the CLI get only the TLS
listener; the test's own helpers use the PLAINTEXT listener of the same broker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from demo.events import new_conversation
from kafka_local import LocalKafka
from kafka_local.config import HOST, free_ports

from tests.fixtures.certificates import Issued, issue
from tests.fixtures.sandbox import ACME_TOKEN, SandboxHandle, add_acme
from tests.fixtures.worker import Deployment, deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"


@dataclass
class TlsBroker:
    kafka: LocalKafka
    url: str
    ca: Issued
    client: Issued


@pytest.fixture(scope="module")
def tls_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    files: Path = tmp_path_factory.mktemp("tls")
    ca = issue("vitally-sync test CA")
    # A name that is not the address the broker is reached at, as Heroku's brokers have.
    broker, client = issue("broker.kafka.example", ca), issue("vitally-sync", ca)
    (files / "ca.pem").write_text(ca.cert_pem)
    (files / "broker.pem").write_text(broker.key_pem + broker.cert_pem + ca.cert_pem)
    port, controller, tls = free_ports(3)
    properties = {
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller},"
        f"SSL://{HOST}:{tls}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port},SSL://{HOST}:{tls}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(files / "broker.pem"),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(files / "ca.pem"),
        "ssl.client.auth": "required",
    }
    with LocalKafka(port=port, controller_port=controller, properties=properties) as kafka:
        yield TlsBroker(kafka, f"kafka+ssl://{HOST}:{tls}", ca, client)


@pytest.fixture
def tls_deployed(tls_kafka: TlsBroker, sandbox: SandboxHandle) -> Iterator[Deployment]:
    service = {
        # As the add-on's KAFKA_URL; ours wins when both are set, so it carries the URL here.
        "KAFKA_BOOTSTRAP_SERVERS": tls_kafka.url,
        "KAFKA_TRUSTED_CERT": tls_kafka.ca.cert_pem,
        "KAFKA_CLIENT_CERT": tls_kafka.client.cert_pem,
        "KAFKA_CLIENT_CERT_KEY": tls_kafka.client.key_pem,
        "KAFKA_SSL_CHECK_HOSTNAME": "false",
    }
    with deployment(tls_kafka.kafka.bootstrap_servers, sandbox.base_url, service_env=service) as d:
        yield d


def test_a_tenant_connects_and_a_conversation_syncs_over_mutual_tls_from_pem_text(
    tls_deployed: Deployment, sandbox: SandboxHandle
) -> None:
    deployed = tls_deployed
    add_acme(sandbox)
    deployed.connect(TENANT, subdomain="acme", api_key=ACME_TOKEN)  # the CLI, over TLS
    worker = deployed.start_worker()
    sent = deployed.produce([
        new_conversation(TENANT, "c-tls", submitter="jane@customer.example",
                         assignee="sam@vendor.example", title="Over TLS", text="Hi",
                         at=datetime.now(UTC)),
    ])  # fmt: skip
    audits = deployed.audit(sent)
    assert [(a["outcome"], a["reason"]) for a in audits] == [("synced", None)]
    assert [c["externalId"] for c in sandbox.conversations("acme")] == ["c-tls"]
    assert "PRIVATE KEY" not in worker.log_tail(2000)
