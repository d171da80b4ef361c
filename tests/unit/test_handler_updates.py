"""EventHandler with conversation updates and deletions: audit records, retries, parking."""

from __future__ import annotations

from tests.fakes import tenant_context
from tests.unit.sync_world import OPS, TENANT, created, deleted, updated
from tests.unit.test_handler import Harness, outcome
from vitally.errors import VitallyNotFound, VitallyServerError

CONVERSATION = "/resources/conversations/{id}"


async def test_a_synced_update_is_audited_with_the_changed_fields() -> None:
    h = Harness()
    await h.feed(created())
    audit = await h.feed(updated(assignee="sam@vendor.example", status="closed"))
    assert outcome(audit) == ("synced", None)
    assert (audit.detail, audit.api_calls, audit.attempts) == ("status", 1, 1)
    assert audit.vitally_conversation_id == h.vitally.conversations(TENANT)[0].id
    assert h.state is not None and h.state.traits is not None
    assert h.state.traits["unthreadStatus"] == "closed"
    assert h.state.last_offset == h.offset


async def test_a_put_that_fails_is_retried_in_line_without_a_look_up() -> None:
    h = Harness(max_attempts=4)
    await h.feed(created())
    h.vitally.calls.clear()
    h.vitally.fail_next(
        "update_conversation", VitallyServerError(503, method="PUT", path=CONVERSATION), times=2
    )
    audit = await h.feed(updated(assignee="sam@vendor.example", status="closed"))
    assert outcome(audit) == ("synced", None)
    assert (audit.attempts, h.sleep.calls) == (3, [0.5, 1.0])
    assert h.vitally.methods() == ["update_conversation"] * 3  # idempotent: no look-up first


async def test_a_put_vitally_keeps_failing_parks_and_is_sent_when_resumed() -> None:
    h = Harness(max_attempts=2)
    await h.feed(created())
    h.vitally.fail_next(
        "update_conversation", VitallyServerError(503, method="PUT", path=CONVERSATION), times=2
    )
    audit = await h.feed(updated(assignee="sam@vendor.example", status="closed"))
    assert outcome(audit) == ("parked", "vitally_unavailable")
    assert h.state is not None and not h.parked[0].verify

    [resolved] = await h.resume()
    assert (resolved.outcome, resolved.detail) == ("synced", "status")
    assert h.vitally.conversations(TENANT)[0].traits["unthreadStatus"] == "closed"


async def test_an_update_of_a_conversation_deleted_in_vitally_fails_to_the_dlq() -> None:
    h = Harness()
    await h.feed(created())
    h.vitally.fail_next(
        "update_conversation", VitallyNotFound(404, method="PUT", path=CONVERSATION)
    )
    audit = await h.feed(updated(assignee="sam@vendor.example", status="closed"))
    assert outcome(audit) == ("failed", "vitally_rejected")
    assert [d.reason for d in h.outputs.dead_letters] == ["vitally_rejected"]


async def test_a_deletion_vitally_is_down_for_parks_and_deletes_when_resumed() -> None:
    h = Harness(max_attempts=1)
    h.tenants.contexts[TENANT] = tenant_context(
        TENANT, default_admin_email=OPS, on_conversation_deleted="delete"
    )
    await h.feed(created())
    h.vitally.fail_next(
        "delete_conversation", VitallyServerError(503, method="DELETE", path=CONVERSATION)
    )
    audit = await h.feed(deleted())
    assert outcome(audit) == ("parked", "vitally_unavailable")

    [resolved] = await h.resume()
    assert outcome(resolved) == ("synced", None)
    assert h.vitally.conversations(TENANT) == []
    assert h.state is not None and h.state.vitally_deleted and h.state.status == "deleted"
