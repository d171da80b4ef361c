"""What a customer-success manager sees: a message of files alone in Vitally, and a message
given up on for a missing person brought in by a replay once the person is in Vitally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from demo.events import Record, envelope, message, new_conversation, reply

from tests.fixtures.sandbox import ACME_TOKEN, SandboxHandle, add_acme
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"


def test_files_alone_sync_and_a_replay_brings_in_a_message_given_up_on(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    add_acme(sandbox)
    deployed.connect(TENANT, subdomain="acme", api_key=ACME_TOKEN)
    # A missing person is given up on after two seconds here (seven days by default).
    worker = deployed.start_worker(
        PARK_PEOPLE_WINDOW_SECONDS="2", PARK_MIN_DELAY_SECONDS="0.5",
        PARK_SCAN_INTERVAL_SECONDS="0.3", LOOKUP_MISS_TTL_SECONDS="0.5",
    )  # fmt: skip
    now = datetime.now(UTC)
    files = [{"id": "F01", "name": "export.csv", "size": 2048, "mimetype": "text/csv",
              "urlPrivate": "https://files.example/F01"}]  # fmt: skip
    records = [
        new_conversation(TENANT, "c-f", submitter="jane@customer.example",
                         assignee="sam@vendor.example", title="Export", text="Export", at=now),
        Record.of("c-f", envelope(TENANT, "message_created", message(
            "c-f", "", message_id="m-files", sender="jane@customer.example", external=True,
            at=now + timedelta(seconds=1), files=files,
        ))),
        reply(TENANT, "c-f", "me too", sender="new@customer.example", support=False,
              at=now + timedelta(seconds=2), message_id="m-new"),
    ]  # fmt: skip
    sent = deployed.produce(records)
    audit = deployed.audit(sent + 1)  # the unknown sender's message parks, then is skipped
    final = {a["messageId"]: a for a in audit}
    assert (final["m-files"]["outcome"], final["m-files"]["reason"]) == ("synced", None)
    assert (final["m-new"]["outcome"], final["m-new"]["reason"]) == (
        "skipped",
        "customer_not_in_vitally",
    )
    [stored] = sandbox.conversations("acme")
    by_id = {m["externalId"]: m for m in stored["messages"]}
    # Slack's private URL needs a Slack login: the file links to the conversation in Unthread.
    assert by_id["m-files"]["message"] == (
        '<ul><li><a href="https://app.unthread.io/dashboard/conversations/c-f" '
        'rel="noopener noreferrer">export.csv</a> (text/csv, 2 KB, in Unthread)</li></ul>'
    )
    assert "m-new" not in by_id

    # The person is added to Vitally; the operator replays the topic (the README's runbook).
    sandbox.add_user("acme", email="new@customer.example", name="New")
    worker.stop()
    deployed.replay_when_stopped("--to-earliest")
    deployed.start_worker()
    again = deployed.audit(2 * sent + 1)[len(audit) :]
    by_message = {a["messageId"]: (a["outcome"], a["reason"]) for a in again}
    assert by_message["m-new"] == ("synced", None)
    assert by_message["m-files"] == ("duplicate", "already_synced")
    [stored] = sandbox.conversations("acme")
    ids = [m["externalId"] for m in stored["messages"]]
    assert sorted(ids[1:]) == ["m-files", "m-new"]  # nothing written twice
