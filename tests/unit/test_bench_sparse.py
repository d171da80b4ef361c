"""The benchmark's sparse workload: the same plan as the full one, rendered as Unthread's
webhooks send it, with an Unthread workspace holding everything the worker has to look up;
and the figures the sparse scenario reports (no Kafka, no sandbox here)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bench.checks import CheckResult
from bench.report import enrichment_table, verdicts
from bench.runner import Calls, Result, _steady_count
from bench.scenarios import SCENARIOS, Sizes, build
from bench.workload import (
    UNTHREAD_BOT_SLACK_ID,
    EventPlan,
    Workload,
    WorkloadConfig,
    generate,
    minimum_lookups,
    render,
    render_sparse,
    slack_id,
    unthread_directory,
    unthread_user_id,
)

from processors.enrichment import enrich
from schemas.events import ConversationEvent, MessageEvent, parse_event

SMALL = WorkloadConfig(tenants=3, conversations=20, messages=6, seed=7)
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def data_of(event: EventPlan, *, sparse: bool) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(render(event, AT, sparse=sparse).value)
    return body


def test_sparse_is_the_same_plan_rendered_as_webhooks() -> None:
    full, sparse = generate(SMALL), generate(replace(SMALL, sparse=True))

    assert full.events == sparse.events and full.tenants == sparse.tenants
    for event in full.events:
        record, direct = render(event, AT, sparse=True), render_sparse(event, AT)
        assert json.loads(record.value)["data"] == json.loads(direct.value)["data"]
        assert record.key == render(event, AT).key == event.conversation_id.encode()


def test_a_sparse_conversation_created_names_ids_only() -> None:
    opening = next(e for e in generate(SMALL).events if e.kind == "conversation_created")

    body = data_of(opening, sparse=True)
    data = body["data"]

    assert (body["tenantId"], body["event"]) == (opening.tenant_id, "conversation_created")
    assert data["id"] == opening.conversation_id
    assert data["userId"] == slack_id(opening.customer)
    assert data["createdAt"] == int(AT.timestamp() * 1000)
    for left_out in ("initialMessage", "submitterUser", "assignedToUser", "assignedToUserId"):
        assert left_out not in data


def test_sparse_messages_carry_a_slack_id_or_the_agents_unthread_id_and_no_time() -> None:
    events = generate(SMALL).events
    customer = next(e for e in events if e.kind == "message_created" and not e.support)
    agent = next(e for e in events if e.kind == "message_created" and e.support)

    from_customer = data_of(customer, sparse=True)["data"]
    from_agent = data_of(agent, sparse=True)["data"]

    assert from_customer == {
        "id": customer.message_id, "conversationId": customer.conversation_id,
        "content": customer.text, "userId": slack_id(customer.sender),
    }  # fmt: skip
    assert from_agent["userId"] == UNTHREAD_BOT_SLACK_ID
    assert from_agent["sentByUserId"] == unthread_user_id(agent.sender)
    for data in (from_customer, from_agent):
        assert not {"user", "sentByUser", "timestamp", "ts", "text", "isExternal"} & set(data)


def test_the_workspace_holds_every_person_and_conversation_the_events_name() -> None:
    workload = generate(SMALL)
    directory = unthread_directory(workload)

    assert set(directory) == {t.tenant_id for t in workload.tenants}
    for tenant in workload.tenants:
        workspace = directory[tenant.tenant_id]
        users = {u["id"]: u for u in workspace.users}
        by_slack = {u["slackId"]: u for u in workspace.users}
        assert len(users) == len(by_slack) == len(tenant.customers) + len(tenant.agents)
        openings = {
            e.conversation_id: e
            for e in workload.events
            if e.tenant_id == tenant.tenant_id and e.position == 0
        }
        assert {c["id"] for c in workspace.conversations} == set(openings)
        for conversation in workspace.conversations:
            opening = openings[conversation["id"]]
            assert users[conversation["submitterUserId"]]["email"] == opening.customer
            assert users[conversation["assignedToUserId"]]["email"] == opening.assignee
            initial = conversation["initialMessage"]
            assert initial["id"] == opening.message_id  # what the checks expect stored
            assert by_slack[initial["userId"]]["email"] == opening.customer
            assert "ts" not in initial  # its time is the event's, as in the full workload


async def test_what_the_worker_must_look_up_is_in_the_workspace() -> None:
    """Without a key, enrich() names every id it would look up: each is in the workspace."""
    workload = generate(SMALL)
    directory = unthread_directory(workload)
    for event in workload.events:
        record = render(event, AT, sparse=True)
        parsed = parse_event(record.key, record.value, max_bytes=1_000_000)
        assert isinstance(parsed, ConversationEvent | MessageEvent)
        workspace = directory[event.tenant_id]
        known = {u["id"] for u in workspace.users} | {u["slackId"] for u in workspace.users}
        known |= {c["id"] for c in workspace.conversations}

        result = await enrich(parsed, target=None, lookup=_NoLookups())

        assert result.unresolved, event  # sparse: nothing syncs without a lookup
        asked = {item.id for item in result.unresolved}
        # Without a key the agent is not found by sentByUserId, so the bot's Slack id is
        # named too, as the fallback; with one, the agent is found and the bot never asked.
        assert asked - {UNTHREAD_BOT_SLACK_ID} <= known


def test_minimum_lookups_one_per_conversation_and_replying_person() -> None:
    tenant = generate(SMALL).tenants[0]

    def plan(conversation: str, position: int, sender: str) -> EventPlan:
        return EventPlan(
            tenant_id=tenant.tenant_id, conversation_id=conversation,
            kind="conversation_created" if position == 0 else "message_created",
            message_id=f"{conversation}-m{position}", sender=sender, support=position % 2 == 1,
            position=position, title="billing", customer="c@x.example", assignee="a@v.example",
        )  # fmt: skip

    events = (
        plan("c1", 0, "c@x.example"),  # the conversation: its answer names everyone in it
        plan("c1", 1, "a@v.example"),  # the agent, once
        plan("c1", 2, "c@x.example"),  # the customer, once (by Slack id)
        plan("c1", 3, "a@v.example"),
        plan("c2", 0, "c@x.example"),
        plan("c2", 1, "a@v.example"),
    )
    workload = Workload(SMALL, (tenant,), events)

    assert minimum_lookups(workload) == 2 + 2


def test_sparse_scenario_runs_the_full_baseline_then_the_same_workload_sparse() -> None:
    scenario = build("sparse", Sizes(sparse_conversations=30))

    assert "sparse" in SCENARIOS and scenario.needs_unthread
    full, sparse = scenario.runs
    assert (full.system, sparse.system) == ("vitally-sync", "vitally-sync")
    assert not full.workload.sparse and sparse.workload == replace(full.workload, sparse=True)
    assert full.workload.conversations == 30
    assert not build("latency50", Sizes()).needs_unthread


def test_steady_counts_only_the_calls_after_the_middle() -> None:
    assert _steady_count((40, 100), 50, 200) == 0.1
    assert _steady_count(None, 50, 200) is None
    assert _steady_count((40, 200), 50, 200) is None


def result(system: str, unthread_calls: int | None, minimum: int | None) -> Result:
    return Result(
        scenario="sparse", system=system, events=1000, finished=1000, seconds=5.0,
        calls=Calls(1050), steady_calls_per_event=1.0, latencies_ms=[], latency_basis="write",
        checks=CheckResult(0, 0, 0), peak_rss_bytes=0, cpu_seconds=3.0, outcomes={},
        audit_duplicates=0, parked=0, stalled_lag=None, rate_limit=None, tenants=8,
        unthread_calls=unthread_calls, steady_unthread_calls_per_event=0.12,
        unthread_minimum=minimum,
    )  # fmt: skip


def test_steady_state_is_the_calls_beyond_one_per_conversation_and_person() -> None:
    cached, uncached = result("s", 250, 200), result("s", 400, 200)

    assert cached.unthread_calls_per_event == 0.25
    assert cached.repeat_unthread_calls_per_event == 0.05
    assert uncached.repeat_unthread_calls_per_event == 0.2
    met = {
        v.figure.split(" ")[0]: v.met
        for v in verdicts([cached, uncached])
        if "Unthread" in v.target
    }
    assert met == {"0.050": True, "0.200": False}


def test_enrichment_table_sets_sparse_beside_full() -> None:
    full, sparse = result("vitally-sync", None, None), result("vitally-sync (sparse)", 250, 200)

    lines = enrichment_table([full, sparse]).splitlines()

    assert len(lines) == 4
    assert lines[2].startswith("| sparse | vitally-sync | 1000/1000 | 200.0 | 3.00 | - |")
    assert lines[3].endswith("| 250 | 200 | 0.250 | 0.120 | 0.050 |")
    assert enrichment_table([replace(full, scenario="latency50")]) == ""


class _NoLookups:
    """enrich() makes no call without a target; any call here is a bug."""

    async def user_by_slack_id(self, target: Any, slack_id: str) -> None:
        raise AssertionError("no lookup without a key")

    async def user_by_id(self, target: Any, user_id: str) -> None:
        raise AssertionError("no lookup without a key")

    async def conversation(self, target: Any, conversation_id: str) -> None:
        raise AssertionError("no lookup without a key")
