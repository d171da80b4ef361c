"""An audit record or DLQ copy Kafka refuses is never committed past: the worker keeps its
input record unacked and sends the refused record again until the topic takes it
(streams/delivery.py). The refusal here is the broker's own: the topics' max.message.bytes is
set below the size of any record the worker writes, then set back, as an operator would."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from demo.events import new_conversation

from tests.fixtures.kafka import KafkaBroker, committed_offsets, set_topic_config
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import WorkerProcess, deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

REFUSED = "could not write the audit record to"
DEFAULT_MAX_MESSAGE_BYTES = "1048588"


def _wait_for_log(worker: WorkerProcess, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in worker.log_path.read_text(errors="replace"):
        assert worker.process.poll() is None, _problems(worker)
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n{_problems(worker)}"
        time.sleep(0.2)


def _problems(worker: WorkerProcess) -> str:
    """The worker's log without its INFO lines (a failed run's whole story, and short)."""
    lines = worker.log_path.read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines if "INFO" not in line[:60])


def test_a_refused_audit_record_holds_the_commit_until_the_topic_takes_it(
    kafka_bootstrap: KafkaBroker, sandbox: SandboxHandle
) -> None:
    sandbox.add_org(
        "acme", tokens=["acme-secret"],
        users=[{"email": "jane@customer.example", "name": "Jane Doe"}],
        admins=[{"email": "ops@vendor.example", "name": "Ops", "licenseStatus": "active"}],
    )  # fmt: skip
    with deployment(kafka_bootstrap.bootstrap_servers, sandbox.base_url, partitions=1) as d:
        d.connect("T01ACME", subdomain="acme", api_key="acme-secret")
        worker = d.start_worker()
        for topic in (d.audit_topic, d.dlq_topic):
            set_topic_config(d.bootstrap, topic, "max.message.bytes", "64")
        d.produce([
            new_conversation("T01ACME", "c-1", submitter="jane@customer.example",
                             assignee=None, title="Help", text="Hello", at=datetime.now(UTC)),
            (b"c-2", b"not json"),  # its DLQ copy is refused as well
        ])  # fmt: skip
        _wait_for_log(worker, REFUSED)
        assert sandbox.stats("acme")["conversations"] == 1  # handled; its audit record is not in
        time.sleep(6)  # two commit intervals and more: nothing may be committed past it
        assert committed_offsets(d.bootstrap, d.name, d.input_topic).get(0, 0) == 0
        assert d.audit(expected=0, timeout=2) == []

        for topic in (d.audit_topic, d.dlq_topic):
            set_topic_config(d.bootstrap, topic, "max.message.bytes", DEFAULT_MAX_MESSAGE_BYTES)
        audit = d.audit(expected=2, timeout=90)
        assert [(a["source"]["offset"], a["outcome"], a["reason"]) for a in audit] == [
            (0, "synced", None),
            (1, "failed", "invalid_event"),
        ]
        (dead,) = d.dlq(expected=1, timeout=30)
        assert (dead.key, dead.value) == (b"c-2", b"not json")
        deadline = time.monotonic() + 30
        while committed_offsets(d.bootstrap, d.name, d.input_topic).get(0) != 2:
            assert time.monotonic() < deadline, "the records were never committed"
            time.sleep(0.5)
        assert worker.process.poll() is None, _problems(worker)  # it went on, no restart
        assert sandbox.stats("acme")["conversations"] == 1
