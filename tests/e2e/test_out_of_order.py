"""Events Unthread sends out of order, on a real broker and the Vitally sandbox: replies that
reach us before their conversation's create wait for it (audited
`parked/waiting_for_create`), then apply in order once it arrives; nothing is lost or
answered as a duplicate."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from demo.events import new_conversation, reply

from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"
JANE, SAM = "jane@customer.example", "sam@vendor.example"


def test_replies_before_their_create_wait_for_it_then_apply_in_order(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    sandbox.add_org(
        "acme", tokens=["acme-secret-1"], users=[{"email": JANE, "name": "Jane"}],
        admins=[{"email": SAM, "name": "Sam", "licenseStatus": "active"}],
    )  # fmt: skip
    deployed.connect(TENANT, subdomain="acme", api_key="acme-secret-1", admin=SAM)
    deployed.start_worker()
    t = [datetime.now(UTC) + timedelta(seconds=i) for i in range(4)]
    produced = deployed.produce([
        reply(TENANT, "c-late", "First reply", sender=SAM, support=True, at=t[1],
              message_id="m-2"),
        reply(TENANT, "c-late", "Second reply", sender=JANE, support=False, at=t[2],
              message_id="m-3"),
        new_conversation(TENANT, "c-late", submitter=JANE, assignee=SAM, title="Late",
                         text="The create, last to arrive", at=t[0]),
    ])  # fmt: skip

    # Three records, two of which park first and resolve later.
    audit = deployed.audit(expected=produced + 2)
    assert Counter((a["outcome"], a["reason"]) for a in audit) == Counter({
        ("parked", "waiting_for_create"): 1,
        ("parked", "waiting_for_earlier_event"): 1,
        ("synced", None): 3,
    })  # fmt: skip
    [conversation] = sandbox.conversations("acme")
    assert [m["externalId"] for m in conversation["messages"]][1:] == ["m-2", "m-3"]
