"""``STORE=rocksdb://`` out of the box, on a real broker: a worker syncs, stops, and starts
again on the same DATA_DIR keeping what it knew (the conversation's Vitally id, the messages
applied)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from demo.events import Record, envelope, message, new_conversation, reply
from demo.events import conversation as conversation_body

from tests.fixtures.sandbox import ACME_TOKEN, SandboxHandle, add_acme
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"


def test_a_rocksdb_worker_restarts_keeping_its_state(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    add_acme(sandbox)
    deployed.connect(TENANT, subdomain="acme", api_key=ACME_TOKEN)
    rocks = deployed.workdir / "rocks"
    data_dir = str(rocks)
    worker = deployed.start_worker(STORE="rocksdb://", DATA_DIR=data_dir, WORKER_ID="rocks-0")
    now = datetime.now(UTC)
    first = new_conversation(
        TENANT, "c-rocks", submitter="jane@customer.example", assignee="sam@vendor.example",
        title="Export", text="Hi", at=now,
    )  # fmt: skip
    answer = reply(TENANT, "c-rocks", "On it", sender="sam@vendor.example", support=True,
                   at=now + timedelta(seconds=1), message_id="m-1")  # fmt: skip
    deployed.produce([first, answer])
    assert [a["outcome"] for a in deployed.audit(2)] == ["synced", "synced"]
    assert worker.stop() == 0
    stores = sorted(p.name for p in rocks.rglob("*conversations*"))
    assert stores, f"no RocksDB store under {rocks}"

    deployed.start_worker(STORE="rocksdb://", DATA_DIR=data_dir, WORKER_ID="rocks-0")
    later = reply(TENANT, "c-rocks", "Fixed", sender="sam@vendor.example", support=True,
                  at=now + timedelta(seconds=2), message_id="m-2")  # fmt: skip
    deployed.produce([later, answer])  # a new reply, and one already applied sent again
    audits = deployed.audit(4)
    assert [(a["outcome"], a["reason"]) for a in audits[2:]] == [
        ("synced", None),
        ("duplicate", "already_synced"),
    ]
    conversations: list[dict[str, Any]] = sandbox.conversations("acme")
    assert len(conversations) == 1
    assert [m["externalId"] for m in conversations[0]["messages"]][1:] == ["m-1", "m-2"]


def test_a_finished_conversation_is_forgotten_after_the_window(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    """With an input topic that keeps records 2 s (segments of 1 s), the window is the
    setting's 4.3 s: the closed conversation's entry goes, the open one's stays."""
    add_acme(sandbox)
    topic = NewTopic(deployed.input_topic, num_partitions=deployed.partitions,
                     config={"retention.ms": "2000", "segment.ms": "1000"})  # fmt: skip
    admin = AdminClient({"bootstrap.servers": deployed.bootstrap})
    admin.create_topics([topic])[deployed.input_topic].result(timeout=30)
    deployed.connect(TENANT, subdomain="acme", api_key=ACME_TOKEN)  # creates the other topics
    worker = deployed.start_worker(
        STATE_PRUNE_AFTER_DAYS="0.00005", STATE_PRUNE_INTERVAL_SECONDS="1"
    )
    now = datetime.now(UTC)
    records = []
    for conversation, status in (("c-closed", "closed"), ("c-open", "open")):
        initial = message(conversation, "Hi", sender="jane@customer.example", external=True,
                          at=now)  # fmt: skip
        data = conversation_body(conversation, title="Export", submitter="jane@customer.example",
                                 initial=initial, created_at=now, status=status)  # fmt: skip
        records.append(
            Record.of(conversation, envelope(TENANT, "conversation_created", data, at=now))
        )
    deployed.produce(records)
    created = deployed.audit(2)
    assert [a["outcome"] for a in created] == ["synced", "synced"]
    first_ids = {a["conversationId"]: a["eventId"] for a in created}

    deadline = time.monotonic() + 60
    while "pruned a finished conversation" not in worker.log_path.read_text():
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(1)
    replies = [
        reply(
            TENANT,
            c,
            "More",
            sender="sam@vendor.example",
            support=True,
            at=now + timedelta(seconds=5),
            message_id=f"m-{c}",
        )  # fmt: skip
        for c in ("c-closed", "c-open")
    ]
    deployed.produce(replies)
    after = {
        (a["conversationId"], a["outcome"], a["reason"])
        for a in deployed.audit(4)
        if a["eventId"] != first_ids[a["conversationId"]]
    }
    assert after == {
        # Forgotten: a follow-up of a conversation we know nothing of waits for its create
        # (PARK_CREATE_WINDOW_SECONDS), as any follow-up that arrives before its create.
        ("c-closed", "parked", "waiting_for_create"),
        ("c-open", "synced", None),
    }
