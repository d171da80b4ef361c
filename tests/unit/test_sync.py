"""process_event: tenant checks, replays and tenant isolation, before any handler runs."""

from __future__ import annotations

from demo import events as ev

from tests.fakes import tenant_context
from tests.unit.sync_world import CONV, TENANT, World, created, posted, updated


async def test_integration_not_connected() -> None:
    w = World()
    result = await w.run(created(), connected=False)
    assert (result.outcome, result.reason, result.state) == (
        "skipped",
        "integration_not_connected",
        None,
    )
    assert w.vitally.calls == []


async def test_unsupported_event_even_without_a_tenant() -> None:
    w = World()
    record = ev.Record.of(CONV, ev.envelope(TENANT, "conversation_assigned", {"id": CONV}))
    for connected in (True, False):
        result = await w.run(record, connected=connected)
        assert (result.outcome, result.reason, result.state) == (
            "skipped",
            "unsupported_event",
            None,
        )
    assert w.vitally.calls == []


async def test_replayed_offset_is_a_duplicate_without_any_call() -> None:
    w = World()
    state = await w.synced_conversation()  # at offset 1
    reply = await w.run(posted(message_id="m_2"), state=state, offset=5)
    assert reply.state is not None
    w.vitally.calls.clear()
    for offset, record in [
        (1, created()),
        (5, posted(message_id="m_2")),
        (3, updated(assignee=None)),
    ]:
        result = await w.run(record, state=reply.state, offset=offset, verify=True)
        assert (result.outcome, result.reason) == ("duplicate", "already_synced")
        assert result.state == reply.state
    assert w.vitally.calls == []
    assert len(w.vitally.conversations(TENANT)[0].messages) == 2


async def test_the_next_offset_is_processed() -> None:
    w = World()
    state = await w.synced_conversation()
    result = await w.run(posted(message_id="m_2"), state=state, offset=state.last_offset + 1)
    assert result.outcome == "synced"


async def test_another_tenants_state_is_ignored() -> None:
    # Two workspaces may use the same conversation id; Globex's state must not leak into Acme.
    globex = World(tenant_context("T02GLOBEX", default_admin_email="ops@vendor.example"))
    globex_state = await globex.synced_conversation(tenant_id="T02GLOBEX")

    acme = World()
    assert globex_state.conversation_id == CONV
    result = await acme.run(created(), state=globex_state, offset=0)  # a lower offset, too
    assert result.outcome == "synced"
    assert result.state is not None and result.state.tenant_id == TENANT
    [stored] = acme.vitally.conversations(TENANT)
    assert result.state.vitally_conversation_id == stored.id != globex_state.vitally_conversation_id

    reply = await acme.run(posted(), state=globex_state, offset=9)
    assert (reply.outcome, reply.reason) == ("skipped", "conversation_not_synced")
    assert "add_message" not in acme.vitally.methods()
