"""``vitally-sync dlq``: the README's DLQ runbook on a real broker. A reply Vitally rejects
goes to the DLQ with Kafka Connect's headers and its own; once Vitally takes it, the dead
letter re-driven syncs once, and re-driven again is a duplicate: one message in Vitally.
An input record too large to copy whole goes to the DLQ cut, saying where the original is."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from demo.events import new_conversation, reply

from tests.fixtures.kafka import consume_all, produce
from tests.fixtures.sandbox import ACME_TOKEN, SandboxHandle, add_acme
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"
CONVERSATION = "c-dlq"


def _messages(sandbox: SandboxHandle) -> list[str]:
    conversations: list[dict[str, Any]] = sandbox.conversations("acme")
    return [m["externalId"] for c in conversations for m in c["messages"]]


def _audits(deployed: Deployment, expected: int) -> list[tuple[str, str | None]]:
    audits = deployed.audit(expected)
    assert len(audits) == expected, audits
    return [(a["outcome"], a["reason"]) for a in audits]


def test_a_redriven_dead_letter_syncs_once_and_only_once(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    add_acme(sandbox)
    deployed.connect(TENANT, subdomain="acme", api_key=ACME_TOKEN)
    deployed.start_worker()
    now = datetime.now(UTC)
    created = new_conversation(
        TENANT, CONVERSATION, submitter="jane@customer.example", assignee="sam@vendor.example",
        title="Export", text="Hi", at=now,
    )  # fmt: skip
    deployed.produce([created])
    assert _audits(deployed, 1) == [("synced", None)]

    sandbox.set_faults("acme", error_rate=1.0, error_status=422)
    rejected = reply(TENANT, CONVERSATION, "On it", sender="sam@vendor.example", support=True,
                     at=now + timedelta(seconds=1), message_id="m-rejected")  # fmt: skip
    produce(deployed.bootstrap, deployed.input_topic,
            [(rejected.key, rejected.value, [("traceparent", b"00-abc-01")])])  # fmt: skip
    assert _audits(deployed, 2)[1] == ("failed", "vitally_rejected")
    sandbox.set_faults("acme", error_rate=0.0)
    later = reply(TENANT, CONVERSATION, "Fixed", sender="sam@vendor.example", support=True,
                  at=now + timedelta(seconds=2), message_id="m-later")  # fmt: skip
    deployed.produce([later])
    assert _audits(deployed, 3)[2] == ("synced", None)

    [dead] = deployed.dlq(expected=1)
    headers = dict(dead.headers)
    assert dead.headers[0] == ("traceparent", b"00-abc-01")  # the input's own, first
    assert headers["__connect.errors.topic"] == deployed.input_topic.encode()
    assert headers["__connect.errors.stage"] == b"TASK_PUT"
    assert headers["__connect.errors.exception.class.name"] == b"vitally.errors.VitallyRejected"
    assert headers["x-error-reason"] == b"vitally_rejected"
    assert headers["x-tenant-id"] == TENANT.encode()
    source_partition = int(headers["__connect.errors.partition"] or b"-1")

    listed = json.loads(deployed.cli("dlq", "list", "--format", "json").stdout)
    assert [(d["reason"], d["tenantId"], d["conversationId"]) for d in listed] == [
        ("vitally_rejected", TENANT, CONVERSATION)
    ]
    shown = deployed.cli("dlq", "show", "--partition", str(dead.partition),
                         "--offset", str(dead.offset)).stdout  # fmt: skip
    assert "errorClass: vitally.errors.VitallyRejected" in shown and "m-rejected" in shown
    assert deployed.cli("dlq", "list", "--tenant", "T-other").stdout.endswith("0 dead letters\n")

    dry = deployed.cli("dlq", "redrive", "--reason", "vitally_rejected").stdout
    assert "dry run: nothing produced; 1 of 1 would be re-driven" in dry
    assert f"{deployed.input_topic}/{source_partition}" in dry

    for _ in range(2):  # a second re-drive of the same dead letter must change nothing
        done = deployed.cli("dlq", "redrive", "--tenant", TENANT, "--execute").stdout
        assert "1 re-driven" in done
    audits = _audits(deployed, 5)
    assert audits[3:] == [("synced", None), ("duplicate", "already_synced")]
    assert _messages(sandbox).count("m-rejected") == 1
    redriven = [
        r for r in consume_all(deployed.bootstrap, deployed.input_topic, 10)
        if ("x-redriven-from", f"{deployed.dlq_topic}/{dead.partition}/{dead.offset}".encode())
        in r.headers
    ]  # fmt: skip
    assert [r.partition for r in redriven] == [source_partition] * 2
    assert all(r.headers[0] == ("traceparent", b"00-abc-01") for r in redriven)


def test_an_input_record_too_large_to_copy_goes_to_the_dlq_cut(deployed: Deployment) -> None:
    deployed.start_worker()
    value = b'{"tenantId": "T1", "padding": "' + b"x" * 999_900 + b'"}'
    produce(deployed.bootstrap, deployed.input_topic, [(b"c-big", value, [])])
    produce(deployed.bootstrap, deployed.input_topic, [(b"c-small", b"{not json", [])])
    dead = deployed.dlq(expected=2)
    assert len(dead) == 2, "the worker stopped on the oversized dead letter"
    [big] = [d for d in dead if d.key == b"c-big"]
    headers = dict(big.headers)
    assert headers["x-dlq-truncated"] == b"true"
    assert headers["x-dlq-original-value-bytes"] == str(len(value)).encode()
    assert headers["x-error-reason"] == b"oversized"
    assert headers["__connect.errors.topic"] == deployed.input_topic.encode()
    assert big.value is not None and value.startswith(big.value) and len(big.value) < len(value)
    assert deployed.workers[0].process.poll() is None

    plan = deployed.cli("dlq", "redrive", "--reason", "oversized").stdout
    assert "the original, read at its source" in plan
