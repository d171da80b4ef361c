"""Every compression codec Kafka has, on every topic the service reads: the worker's input and
its integrations tail (aiokafka, which needs cramjam for snappy, lz4 and zstd), and the CLI's
readers of the integrations and audit topics (confluent-kafka)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from demo.events import new_conversation, reply

from tests.fixtures.kafka import OutRecord, consume_all, produce, unique_name
from tests.fixtures.sandbox import ACME_TOKEN, SandboxHandle, add_acme
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

CODECS = ("gzip", "snappy", "lz4", "zstd")


def test_every_codec_is_read_by_the_worker_and_the_cli(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    add_acme(sandbox)
    deployed.connect("T-PLAIN", subdomain="acme", api_key=ACME_TOKEN)
    [written] = consume_all(deployed.bootstrap, deployed.integrations_topic, 30, expected_count=1)
    # The same integration under one tenant per codec, each record compressed with its codec:
    # a tenant the worker's tail could not read would be audited integration_not_connected.
    for codec in CODECS:
        record = {**json.loads(written.value or b"{}"), "tenantId": f"T-{codec}"}
        produce(
            deployed.bootstrap, deployed.integrations_topic,
            [(f"T-{codec}".encode(), json.dumps(record).encode(), [])], compression=codec,
        )  # fmt: skip
    deployed.start_worker()

    now = datetime.now(UTC)
    for codec in CODECS:
        tenant, conversation = f"T-{codec}", f"c-{codec}"
        events = [
            new_conversation(tenant, conversation, submitter="jane@customer.example",
                             assignee="sam@vendor.example", title=codec, text="Hello", at=now),
            reply(tenant, conversation, "Looking", sender="sam@vendor.example", support=True,
                  at=now, message_id=f"m-{codec}"),
        ]  # fmt: skip
        batch: list[OutRecord] = [(e.key, e.value, []) for e in events]
        produce(deployed.bootstrap, deployed.input_topic, batch, compression=codec)
    audits = deployed.audit(expected=2 * len(CODECS), timeout=90)
    assert sorted((a["tenantId"], a["outcome"]) for a in audits) == sorted(
        (f"T-{codec}", "synced") for codec in CODECS for _ in range(2)
    )
    conversations = sandbox.conversations("acme")
    assert {c["externalId"] for c in conversations} == {f"c-{codec}" for codec in CODECS}

    # The CLI: the integrations topic (compressed records) ...
    tenants = [json.loads(line)["tenantId"] for line in deployed.cli("tenants").stdout.splitlines()]
    assert sorted(tenants) == sorted(["T-PLAIN", *(f"T-{codec}" for codec in CODECS)])
    # ... and the audit topic, its records copied compressed, each codec in turn.
    audit_copy = unique_name("audit-compressed")
    written_audits = consume_all(deployed.bootstrap, deployed.audit_topic, 30, expected_count=8)
    for n, audit in enumerate(written_audits):
        produce(
            deployed.bootstrap, audit_copy, [(audit.key, audit.value, [])],
            compression=CODECS[n % len(CODECS)],
        )  # fmt: skip
    report = deployed.cli("audit", "--since", "1h", "--format", "json", AUDIT_TOPIC=audit_copy)
    assert report.stdout.count('"synced"') >= 1 and "T-zstd" in report.stdout
    trail = deployed.cli(
        "why", "--tenant", "T-lz4", "--conversation", "c-lz4", AUDIT_TOPIC=audit_copy
    )
    assert "m-lz4" in trail.stdout and "synced" in trail.stdout
