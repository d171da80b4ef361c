"""``vitally-sync replay``: the README's runbook on a real broker. Sync, stop the worker, move
the group back to the beginning, start again: every record is read again and audited
``duplicate``, and Vitally gets nothing new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from demo.events import Record, new_conversation, reply

from tests.fixtures.sandbox import ACME_TOKEN, SandboxHandle, add_acme
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"


def _events(now: datetime) -> list[Record]:
    t = [now + timedelta(seconds=i) for i in range(6)]
    events = []
    for n in range(3):
        events.append(
            new_conversation(TENANT, f"c-{n}", submitter="jane@customer.example",
                             assignee="sam@vendor.example", title=f"Issue {n}", text="Hi",
                             at=t[n])
        )  # fmt: skip
        events.append(
            reply(TENANT, f"c-{n}", "On it", sender="sam@vendor.example", support=True,
                  at=t[n + 3], message_id=f"m-{n}")
        )  # fmt: skip
    return events


def _objects(sandbox: SandboxHandle) -> tuple[int, int]:
    conversations: list[dict[str, Any]] = sandbox.conversations("acme")
    return len(conversations), sum(len(c["messages"]) for c in conversations)


def test_replay_from_the_beginning_reads_everything_again_without_a_vitally_write(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    add_acme(sandbox)
    deployed.connect(TENANT, subdomain="acme", api_key=ACME_TOKEN)
    worker = deployed.start_worker()
    sent = deployed.produce(_events(datetime.now(UTC)))
    first = deployed.audit(sent)
    assert {a["outcome"] for a in first} == {"synced"}
    before = _objects(sandbox)
    assert before == (3, 6)  # each initial message and one reply

    refused = deployed.cli("replay", "--to-earliest", "--execute", check=False)
    assert refused.returncode == 1 and "live member" in refused.stderr
    worker.stop()

    dry = deployed.cli("replay", "--to-earliest")
    assert "dry run: nothing changed" in dry.stdout
    assert f"records read again: {sent}" in dry.stdout
    applied = deployed.replay_when_stopped("--to-earliest")
    assert "applied" in applied
    again = deployed.cli("replay", "--to-earliest")  # now at the targets: nothing to re-read
    assert "records read again: 0" in again.stdout

    deployed.start_worker()
    audits = deployed.audit(2 * sent)
    replayed = [a for a in audits if a not in first]
    assert len(replayed) == sent
    assert {(a["outcome"], a["reason"]) for a in replayed} == {("duplicate", "already_synced")}
    assert sorted(a["source"]["offset"] for a in replayed) == sorted(
        a["source"]["offset"] for a in first
    )
    assert _objects(sandbox) == before
