"""EventHandler with conversation updates and deletions: audit records, retries, parking."""

from __future__ import annotations

from demo import events as ev

from schemas.vitally import ConversationUpdate
from streams.handler import state_key
from tests.fakes import tenant_context
from tests.unit.sync_world import CONV, JANE, OPS, SAM, TENANT, created, deleted, updated
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


async def test_an_update_of_a_conversation_deleted_in_vitally_is_skipped_and_kept() -> None:
    h = Harness()
    await h.feed(created())
    h.vitally.fail_next(
        "update_conversation", VitallyNotFound(404, method="PUT", path=CONVERSATION)
    )
    audit = await h.feed(updated(assignee="sam@vendor.example", status="closed"))
    assert outcome(audit) == ("skipped", "deleted_in_vitally")
    assert h.outputs.dead_letters == []
    state = h.states.get(state_key(TENANT, CONV))
    # Remembered for a re-creation: the status it would have shown.
    assert state is not None and state.vitally_missing
    assert state.traits is not None and state.traits["unthreadStatus"] == "closed"


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


def _sparse(event: str, at_ms: int, **data: object) -> ev.Record:
    """A conversation event as Unthread's webhook usually sends it: the id, little else."""
    envelope = ev.envelope(TENANT, event, {"id": CONV, **data})
    envelope["eventTimestamp"] = at_ms
    return ev.Record.of(CONV, envelope)


async def test_an_ids_only_update_applies_what_unthread_shows_now() -> None:
    h = Harness(unthread_key="acme-unthread-key")
    assert h.tenant.unthread is not None
    await h.feed(created())
    h.unthread.add_conversation(
        h.tenant.unthread, id=CONV, title="CSV export fails for everyone", status="on_hold",
        priority=7, tags=[{"id": "t1", "name": "billing"}], assignedToUserId="u-sam",
        assignedToUser=ev.person(SAM),
    )  # fmt: skip
    at = int(ev.later(ev.EPOCH, 60).timestamp() * 1000)
    audit = await h.feed(_sparse("conversation_updated", at))
    assert outcome(audit) == ("synced", None)
    assert audit.detail == "status,priority,tags,subject"
    [stored] = h.vitally.conversations(TENANT)
    [put] = [a[2] for m, a in h.vitally.calls if m == "update_conversation"]
    assert isinstance(put, ConversationUpdate)
    assert put.subject == "CSV export fails for everyone"
    assert put.traits == {
        "unthreadStatus": "on_hold", "unthreadPriority": 7, "unthreadTags": ["billing"]
    }  # fmt: skip
    assert stored.id == audit.vitally_conversation_id


async def test_tags_given_by_id_alone_never_blank_the_trait() -> None:
    h = Harness()  # no key: nothing to look the names up with
    await h.feed(created(tags=[{"id": "t1", "name": "billing"}]))
    at = int(ev.later(ev.EPOCH, 60).timestamp() * 1000)
    audit = await h.feed(
        _sparse("conversation_updated", at, status="open", tags=[{"id": "t1"}, {"id": "t2"}])
    )  # fmt: skip
    assert outcome(audit) == ("skipped", "no_change")
    state = h.states.get(state_key(TENANT, CONV))
    assert state is not None and state.traits is not None
    assert state.traits["unthreadTags"] == ["billing"]


async def test_a_late_sparse_create_does_not_make_later_changes_stale() -> None:
    # The create is handled after its conversation changed: its data is looked up now. The
    # updates that follow carry their own data times; they are not judged by the lookup's.
    h = Harness(unthread_key="acme-unthread-key")
    assert h.tenant.unthread is not None
    h.unthread.add_user(h.tenant.unthread, id="u-jane", slackId="UJANE", email=JANE)
    h.unthread.add_conversation(
        h.tenant.unthread, id=CONV, title="CSV export fails", status="closed",
        createdAt=ev.iso(ev.EPOCH), updatedAt=ev.iso(ev.later(ev.EPOCH, 3600)),
        submitterUser={"id": "u-jane", "email": JANE}, assignedToUserId=None,
        initialMessage={"id": "m_initial", "text": "Export fails", "userId": "UJANE",
                        "isExternal": True},
    )  # fmt: skip
    created_ms = int(ev.EPOCH.timestamp() * 1000)
    first = await h.feed(_sparse("conversation_created", created_ms))
    assert outcome(first) == ("synced", None)
    change = updated(assignee=None, status="in_progress", seconds=120)
    audit = await h.feed(change)
    assert outcome(audit) == ("synced", None)
    assert audit.detail is not None and "status" in audit.detail.split(",")
    older = updated(assignee=None, status="open", seconds=60)
    assert outcome(await h.feed(older)) == ("skipped", "stale_update")


async def test_an_odd_informative_value_is_left_out_and_named_in_the_audit() -> None:
    h = Harness()
    audit = await h.feed(created(priority="high", tags=[None, {"id": "t1", "name": "billing"}]))
    assert outcome(audit) == ("synced", None)
    assert audit.detail == "ignored odd priority,tags[0]"
    [stored] = h.vitally.conversations(TENANT)
    assert stored.body.traits["unthreadTags"] == ["billing"]
    assert "unthreadPriority" not in stored.body.traits
    assert h.outputs.dead_letters == []
