"""The tenant HTTP API end to end: workers run from the Procfile, the Vitally sandbox, Kafka.

One deployment serves the whole module (worker A from the start, worker B from the reconnect
test on), so tests use distinct tenant ids; the sandbox is reset per test. The last test reads
every byte the deployment wrote to Kafka and to its logs, looking for any key used before it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient
from demo.events import Record, new_conversation, reply
from vitally_sandbox.auth import fingerprint as token_fingerprint

from schemas.audit import is_result
from tests.e2e.tenant_api import Api, basic, error_of, raw_bytes, topics_of, wait_for
from tests.fixtures.hostile import HOSTILE_SUBDOMAINS
from tests.fixtures.kafka import KafkaBroker, consume_all
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment, WorkerProcess, deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

ADMINS = [
    {"email": "ops@vendor.example", "name": "Ops Default", "licenseStatus": "active"},
    {"email": "gone@vendor.example", "name": "Gone Admin", "licenseStatus": "deactivated"},
]
USERS = [{"email": "jane@customer.example", "name": "Jane Doe"}]
# Every API key any test hands to the service: none may be found in plaintext afterwards.
KEYS_USED: set[str] = set()


class Stack:
    def __init__(self, deployed: Deployment, worker_a: WorkerProcess) -> None:
        self.deployed = deployed
        self.a = Api(worker_a, deployed.admin_token)
        self.b: Api | None = None

    def add_org(self, sandbox: SandboxHandle, subdomain: str, *tokens: Any) -> dict[str, Any]:
        KEYS_USED.update(t if isinstance(t, str) else t["token"] for t in tokens)
        return sandbox.add_org(subdomain, tokens=list(tokens), users=USERS, admins=ADMINS)

    def produce(self, records: list[Record]) -> None:
        self.deployed.produce(records)

    def trail(self, tenant: str) -> Counter[tuple[str, str | None, str | None]]:
        """Every audit record of `tenant` so far, waits included: what a failure shows."""
        records = self.deployed.audit(expected=0, timeout=10)
        return Counter(
            (r["outcome"], r["reason"], r["detail"]) for r in records if r["tenantId"] == tenant
        )

    def audit_of(self, tenant: str, expected: int) -> list[dict[str, Any]]:
        """The final audit record of each of `tenant`'s events, once there are `expected`.

        Final: a parked event's resolution, not its `parked` record nor a redelivery's
        `duplicate/already_parked` while it waits (a rebalance can cause one); and any other
        `duplicate` only when nothing better was recorded for that input record.
        """
        rank = {"duplicate": 1}  # any other outcome: 2 (waits never get this far)

        def finals() -> list[dict[str, Any]] | None:
            best: dict[tuple[int, int], dict[str, Any]] = {}
            for record in self.deployed.audit(expected=0, timeout=10):
                if record["tenantId"] != tenant or not is_result(
                    record["outcome"], record["reason"]
                ):
                    continue
                source = (record["source"]["partition"], record["source"]["offset"])
                if source not in best or rank.get(best[source]["outcome"], 2) < rank.get(
                    record["outcome"], 2
                ):
                    best[source] = record
            return list(best.values()) if len(best) >= expected else None

        try:
            found = wait_for(finals, timeout=60, what=f"{expected} audit records of {tenant}")
        except TimeoutError:
            logs = "\n\n".join(w.log_tail(200) for w in self.deployed.workers)
            pytest.fail(f"too few audit records of {tenant}:\n{logs}")
        assert len(found) == expected, found
        return found


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: KafkaBroker, vitally_sandbox: SandboxHandle) -> Iterator[Stack]:
    with deployment(kafka_bootstrap.bootstrap_servers, vitally_sandbox.base_url) as deployed:
        yield Stack(deployed, deployed.start_worker())


def conversation(tenant: str, conversation_id: str, at: datetime) -> Record:
    return new_conversation(
        tenant, conversation_id, submitter="jane@customer.example", assignee=None,
        title=f"About {conversation_id}", text="Export fails", at=at,
    )  # fmt: skip


def test_the_first_assignment_holds_every_tables_changelog(stack: Stack) -> None:
    """Worker A joined on a fresh deployment: every partition of every table's changelog is
    assigned (one missing from metadata at the join would be left out, and with static
    membership stay out, its table never recovered after a restart)."""
    wait_for(lambda: _settled_members(stack.deployed) >= 1, what="worker A assigned")
    assigned = _assigned(stack.deployed)
    changelogs = [t for t in topics_of(stack.deployed) if t.endswith("-changelog")]
    assert len(changelogs) == 2, changelogs  # conversations and waiting
    for topic in changelogs:
        partitions = {p for t, p in assigned if t == topic}
        assert partitions == set(range(stack.deployed.partitions)), topic
    assert b"changelog_unassigned" not in stack.deployed.workers[0].log_path.read_bytes()


def test_every_endpoint_needs_the_admin_token(stack: Stack) -> None:
    anonymous = httpx.Client(base_url=str(stack.a.http.base_url), timeout=30)
    path = "/tenants/T01/integrations/vitally"
    token = stack.deployed.admin_token
    for method in ("GET", "PUT", "DELETE"):
        for auth in (None, "Bearer wrong-token-0123456789", f"Basic {token}", f"Bearer {token}x"):
            headers = {"Authorization": auth} if auth else {}
            response = anonymous.request(method, path, json={}, headers=headers)
            assert error_of(response) == (401, "unauthorized"), (method, auth)
    assert anonymous.get("/ready").status_code == 200  # the probe stays open
    assert anonymous.get("/table/").status_code == 401  # Faust's own pages do not


def test_every_connect_error_code(stack: Stack, sandbox: SandboxHandle) -> None:
    stack.add_org(
        sandbox, "acme", "acme-e2e-secret", {"token": "acme-users-only", "scopes": ["users"]},
        {"token": "acme-no-conversations", "scopes": ["users", "admins"]},
    )  # fmt: skip
    good = {"subdomain": "acme", "apiKey": basic("acme-e2e-secret"),
            "defaultAdminEmail": "ops@vendor.example"}  # fmt: skip
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"subdomain": "acme.evil.com"}, "invalid_subdomain", "your-company"),
        ({"apiKey": basic("not-a-key")}, "invalid_api_key", "Basic"),
        ({"apiKey": ""}, "invalid_api_key", "API key"),
        ({"apiKey": "acme-users-only"}, "insufficient_permissions", "admins"),
        ({"apiKey": "acme-no-conversations"}, "insufficient_permissions", "conversations"),
        ({"defaultAdminEmail": "nobody@vendor.example"}, "default_admin_not_found", "nobody@"),
        ({"defaultAdminEmail": "gone@vendor.example"}, "default_admin_inactive", "active"),
        ({"defaultAdminEmail": "ops"}, "invalid_default_admin_email", "email"),
        ({"region": "mars"}, "invalid_region", "eu"),
    ]
    KEYS_USED.add("not-a-key")
    for change, code, hint in cases:
        response = stack.a.put("T01ERRORS", **{**good, **change})
        assert error_of(response) == (422, code), change
        assert hint in response.json()["message"]
    assert error_of(stack.a.get("T01ERRORS")) == (404, "not_connected")  # nothing was saved

    sandbox.set_faults(outage_seconds=60)
    started = time.monotonic()
    assert error_of(stack.a.put("T01ERRORS", **good)) == (422, "vitally_unreachable")
    assert time.monotonic() - started < 15  # a person is waiting


def test_hostile_subdomains_never_reach_vitally(stack: Stack, sandbox: SandboxHandle) -> None:
    stack.add_org(sandbox, "acme", "acme-hostile-secret")
    for subdomain in HOSTILE_SUBDOMAINS:
        response = stack.a.put(
            "T01HOSTILE", subdomain=subdomain, apiKey="acme-hostile-secret",
            defaultAdminEmail="ops@vendor.example",
        )  # fmt: skip
        assert error_of(response) == (422, "invalid_subdomain"), repr(subdomain)
    assert sandbox.requests() == []


def test_malformed_and_oversized_bodies_get_clear_4xx(stack: Stack) -> None:
    http, path = stack.a.http, "/tenants/T01BODY/integrations/vitally"
    assert error_of(http.put(path, content=b"{oops")) == (400, "invalid_json")
    assert error_of(http.put(path, content=b"[" * 5000 + b"]" * 5000)) == (400, "invalid_json")
    assert error_of(http.put(path, json=["acme"])) == (422, "invalid_request")
    assert error_of(http.put(path, json={"subdomain": "acme"})) == (422, "invalid_api_key")
    assert error_of(http.put(path, content=b"x" * 100_000)) == (413, "body_too_large")
    assert error_of(http.put(path, content=iter([b" " * 8192] * 4))) == (413, "body_too_large")
    assert error_of(http.put("/tenants/T%20X/integrations/vitally", json={})) == (
        422, "invalid_request",
    )  # fmt: skip
    assert stack.a.http.get("/ready").status_code == 200  # still up


def test_connect_show_disconnect_and_what_becomes_of_events(
    stack: Stack, sandbox: SandboxHandle
) -> None:
    tenant, token = "T01FLOW", "acme-flow-secret"
    stack.add_org(sandbox, "acme", token)
    before = datetime.now(UTC) - timedelta(hours=1)
    connected = stack.a.connect(tenant, "https://acme.rest.vitally.io/", f"Basic {basic(token)}")
    assert connected["subdomain"] == "acme" and connected["status"] == "connected"
    assert token not in str(connected) and basic(token) not in str(connected)

    shown = stack.a.get(tenant).json()
    assert shown["connectedAt"] == connected["connectedAt"]
    assert shown["keyFingerprint"] == connected["keyFingerprint"]
    assert set(shown["syncCounts"]) >= {"total", "byOutcome", "byReason", "since", "complete"}

    now = datetime.now(UTC)
    stack.produce([
        conversation(tenant, "c-flow-new", now),
        conversation(tenant, "c-flow-old", before),
        reply(tenant, "c-flow-new", "Thanks", sender="jane@customer.example", support=False,
              at=now + timedelta(seconds=1)),
    ])  # fmt: skip
    audit = stack.audit_of(tenant, expected=3)
    assert Counter((r["outcome"], r["reason"]) for r in audit) == Counter(
        {("synced", None): 2, ("skipped", "created_before_connect"): 1}
    )
    counts = wait_for(
        lambda: (c := stack.a.get(tenant).json()["syncCounts"])["total"] == 3 and c,
        what="the audit counts",
    )
    assert counts["byOutcome"] == {"synced": 2, "skipped": 1}
    assert counts["byReason"] == {"created_before_connect": 1}
    assert counts["complete"] is True and counts["since"]

    gone = stack.a.delete(tenant)
    assert gone.status_code == 200 and gone.json()["status"] == "disconnected"
    stack.produce([conversation(tenant, "c-flow-after", datetime.now(UTC))])
    finals = {r["conversationId"]: r for r in stack.audit_of(tenant, expected=4)}
    after = finals["c-flow-after"]
    assert (after["outcome"], after["reason"]) == ("skipped", "integration_not_connected")
    assert [c["externalId"] for c in sandbox.conversations("acme")] == ["c-flow-new"]

    # A new connection after a disconnect starts a new connectedAt: nothing is backfilled.
    again = stack.a.connect(tenant, "acme", token)
    assert again["connectedAt"] > connected["connectedAt"]


def test_two_tenants_never_use_each_others_keys(stack: Stack, sandbox: SandboxHandle) -> None:
    stack.add_org(sandbox, "acme", "acme-two-secret")
    stack.add_org(sandbox, "globex", "globex-two-secret")
    stack.a.connect("T01TWO", "acme", basic("acme-two-secret"))  # as Vitally shows it
    stack.a.connect("T02TWO", "globex", "globex-two-secret")  # the raw secret token
    now = datetime.now(UTC)
    records: list[Record] = []
    for i in range(4):
        for tenant, prefix in (("T01TWO", "acme"), ("T02TWO", "globex")):
            records.append(conversation(tenant, f"c-{prefix}-{i}", now + timedelta(seconds=i)))
            records.append(reply(tenant, f"c-{prefix}-{i}", "More", at=now + timedelta(seconds=9),
                                 sender="jane@customer.example", support=False))  # fmt: skip
    stack.produce(records)
    for tenant in ("T01TWO", "T02TWO"):
        assert {r["outcome"] for r in stack.audit_of(tenant, expected=8)} == {"synced"}
    for org in ("acme", "globex"):
        assert sorted(c["externalId"] for c in sandbox.conversations(org)) == [
            f"c-{org}-{i}" for i in range(4)
        ]
        seen = {r["tokenFingerprint"] for r in sandbox.requests(org=org, limit=1000)}
        assert seen == {token_fingerprint(f"{org}-two-secret")}


def test_two_workers_pick_up_a_reconnect_within_seconds(
    stack: Stack, sandbox: SandboxHandle
) -> None:
    tenant, old, new = "T01RECONNECT", "acme-old-secret", "acme-new-secret"
    stack.add_org(sandbox, "acme", old)
    KEYS_USED.add(new)
    first = stack.a.connect(tenant, "acme", old)
    b = stack.b = Api(stack.deployed.start_worker(), stack.deployed.admin_token)
    wait_for(lambda: _settled_members(stack.deployed) == 2, what="both workers assigned")
    assert b.get(tenant).json()["keyFingerprint"] == first["keyFingerprint"]

    # The key is rotated in Vitally: the old one now gets 401. Reconnect through worker A.
    sandbox.set_tokens("acme", [new])
    started = time.monotonic()
    second = stack.a.connect(tenant, "acme.rest.vitally.io", new)
    assert second["keyFingerprint"] != first["keyFingerprint"]
    assert second["connectedAt"] == first["connectedAt"]  # a reconnect is not a new start
    wait_for(
        lambda: b.get(tenant).json()["keyFingerprint"] == second["keyFingerprint"],
        timeout=5, what="worker B to see the new key",
    )  # fmt: skip
    seen_by_b = time.monotonic() - started

    requests_before = len(sandbox.requests(org="acme", limit=1000))
    now = datetime.now(UTC)
    conversations = [conversation(tenant, f"c-re-{i}", now) for i in range(16)]
    stack.produce(conversations)
    outcomes = Counter((r["outcome"], r["reason"]) for r in stack.audit_of(tenant, expected=16))
    assert outcomes == {("synced", None): 16}, stack.trail(tenant)
    # Both workers took part: the 16 keys cover every partition, and each worker owns some.
    partitions = {r.partition for r in consume_all(stack.deployed.bootstrap,
                                                   stack.deployed.input_topic, 15)
                  if r.key and r.key.startswith(b"c-re-")}  # fmt: skip
    assert partitions == set(range(stack.deployed.partitions))
    since = sandbox.requests(org="acme", limit=1000)[requests_before:]
    assert {(r["tokenFingerprint"], r["status"] < 400) for r in since} == {
        (token_fingerprint(new), True)
    }
    assert seen_by_b < 5


def _group(deployed: Deployment) -> Any:
    admin = AdminClient({"bootstrap.servers": deployed.bootstrap})
    return admin.describe_consumer_groups([deployed.name])[deployed.name].result(timeout=10)


def _assigned(deployed: Deployment) -> set[tuple[str, int]]:
    """(topic, partition) of every member's assignment."""
    return {
        (tp.topic, tp.partition)
        for member in _group(deployed).members
        for tp in (member.assignment.topic_partitions if member.assignment else [])
    }


def _settled_members(deployed: Deployment) -> int:
    """Members of a group done rebalancing, each with partitions; 0 while it rebalances."""
    group = _group(deployed)
    if group.state != ConsumerGroupState.STABLE:
        return 0
    if not all(m.assignment and m.assignment.topic_partitions for m in group.members):
        return 0
    return len(group.members)


def test_no_topic_and_no_log_holds_a_key_in_plaintext(stack: Stack) -> None:
    """Last in the module: every key the tests above used, in every form a user may paste."""
    forbidden = {k.encode() for k in KEYS_USED} | {basic(k).encode() for k in KEYS_USED}
    topics = topics_of(stack.deployed)
    assert {stack.deployed.integrations_topic, stack.deployed.audit_topic} <= set(topics)
    assert any(t.endswith("-changelog") for t in topics), topics
    for topic in topics:
        data = raw_bytes(stack.deployed, topic)
        if topic == stack.deployed.integrations_topic:  # the search does find what is there
            assert sum(b"T01FLOW" in chunk for chunk in data) >= 3 and b"gAAAAA" in b"".join(data)
        for secret in forbidden:
            assert not any(secret in chunk for chunk in data), (topic, secret)
    logs = [w.log_path.read_bytes() for w in stack.deployed.workers]
    assert b"tenant connected" in logs[0] and all(logs)
    for secret in forbidden:
        assert not any(secret in log for log in logs), secret
