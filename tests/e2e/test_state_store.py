"""``STORE=rocksdb://`` out of the box, on a real broker: a worker syncs, stops, and starts
again on the same DATA_DIR keeping what it knew (the conversation's Vitally id, the messages
applied)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from demo.events import new_conversation, reply

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
