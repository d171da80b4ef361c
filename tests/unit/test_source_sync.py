"""Which walks a worker runs: only for the tenants whose partition it owns; an import once per
generation, held while paused, again after a restart; a reconciliation pass per interval,
from the last pass's watermark. Against the Unthread sandbox as a real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from integrations.source_walks import WalkStore
from integrations.validation import SourceSettings
from processors.tenant import TenantContext
from schemas.integration import IntegrationRecord
from schemas.source_walk import WalkProgress
from streams.source_sync import SourceSync, owner_partition
from tests.fixtures.unthread_sandbox import UnthreadSandboxHandle, unthread_sandbox, unthread_server
from unthread import UnthreadClient, UnthreadTarget, build_http_client
from vitally import RetryPolicy
from vitally.target import VitallyTarget

__all__ = ["unthread_sandbox", "unthread_server"]

TENANT, KEY, PARTITIONS = "TSYNC", "sync-key", 4
CONNECTED = datetime(2026, 12, 1, tzinfo=UTC)


class Tenants:
    def __init__(self, record: IntegrationRecord, unthread_url: str) -> None:
        self.ready = asyncio.Event()
        self.ready.set()
        self.saved = record
        self.context = TenantContext(
            tenant_id=TENANT, connected_at=CONNECTED, default_admin_email="ops@v.example",
            target=VitallyTarget.for_tenant(TENANT, "acme", "us", "Basic eA==", None),
            unthread=UnthreadTarget.for_tenant(TENANT, KEY, unthread_url),
        )  # fmt: skip

    def tenants(self) -> list[IntegrationRecord]:
        return [self.saved]

    def tenant(self, tenant_id: str) -> TenantContext | None:
        return self.context if tenant_id == TENANT else None

    def record(self, tenant_id: str) -> IntegrationRecord | None:
        return self.saved if tenant_id == TENANT else None

    async def mark_needs_attention(self, tenant: TenantContext, reason: str) -> None:
        self.saved = self.saved.model_copy(
            update={"status": "needs_attention", "status_reason": reason,
                    "updated_at": datetime.now(UTC)}
        )  # fmt: skip


class World:
    def __init__(self, sync: SourceSync, tenants: Tenants, walks: WalkStore) -> None:
        self.sync, self.tenants, self.walks = sync, tenants, walks
        self.produced: list[str] = []
        self.clock = datetime.now(UTC)
        # What the pacing hears of the agent: by default it keeps up with everything.
        self.handled: Callable[[int], int | None] = lambda partition: 1_000_000

    def change(self, **fields: object) -> None:
        self.tenants.saved = self.tenants.saved.model_copy(
            update={**fields, "updated_at": datetime.now(UTC)}
        )

    def take(self) -> list[str]:
        taken, self.produced[:] = list(self.produced), []
        return taken


@pytest.fixture
async def world(unthread_sandbox: UnthreadSandboxHandle) -> AsyncIterator[World]:
    unthread_sandbox.add_tenant(TENANT, keys=[KEY], conversations=[
        {"id": f"c{n}", "status": "open", "createdAt": f"2026-11-2{n}T00:00:00Z",
         "updatedAt": f"2026-12-0{n + 2}T00:00:00Z"} for n in range(3)
    ])  # fmt: skip
    settings = SourceSettings(import_since=datetime(2026, 11, 1, tzinfo=UTC), import_generation=1)
    record = IntegrationRecord(
        tenant_id=TENANT, status="connected", subdomain="acme", default_admin_email="o@v.example",
        api_key_encrypted="x", key_fingerprint="f", connected_at=CONNECTED,
        updated_at=datetime.now(UTC) - timedelta(hours=1), unthread_key_fingerprint="u",
        import_since=settings.import_since, import_generation=settings.import_generation,
    )  # fmt: skip
    client = UnthreadClient(build_http_client(timeout=5.0), retry=RetryPolicy(max_attempts=1))
    tenants = Tenants(record, unthread_sandbox.api_url)
    walks = WalkStore(kafka=None, topic="unused")  # type: ignore[arg-type]
    holder: list[World] = []

    async def send(key: bytes, value: bytes, partition: int) -> int:
        holder[0].produced.append(json.loads(value)["eventId"])
        return len(holder[0].produced) - 1

    async def handled(partition: int) -> int | None:
        return holder[0].handled(partition)  # (the pacing itself: test_walk_pacing)

    async def publish(progress: WalkProgress) -> None:
        pass

    sync = SourceSync(
        integrations=tenants, walks=walks, unthread=client, send=send,
        partition_of=lambda key: 0, handled=handled, max_outstanding=1, publish=publish,
        partitions=PARTITIONS, now=lambda: holder[0].clock, stopping=lambda: False,
    )  # fmt: skip
    holder.append(World(sync, tenants, walks))
    yield holder[0]
    await client.aclose()


async def test_only_the_owner_runs_the_import_once_per_generation(world: World) -> None:
    world.sync.owned = {p for p in range(PARTITIONS) if p != owner_partition(TENANT, PARTITIONS)}
    await world.sync.round()
    assert world.take() == [] and world.walks.get(TENANT, "import") is None
    world.sync.owned = {owner_partition(TENANT, PARTITIONS)}
    await world.sync.round()
    assert world.take() == ["import:c2", "import:c1", "import:c0"]
    walk = world.walks.get(TENANT, "import")
    assert walk is not None and (walk.state, walk.generation, walk.listed) == ("done", 1, 3)
    await world.sync.round()
    assert world.take() == []  # done stays done


async def test_pause_holds_resume_continues_restart_walks_again(world: World) -> None:
    world.sync.owned = {owner_partition(TENANT, PARTITIONS)}
    world.change(import_paused=True)
    await world.sync.round()
    paused = world.walks.get(TENANT, "import")
    assert world.take() == [] and paused is not None and paused.state == "paused"
    world.change(import_paused=False)
    await world.sync.round()
    assert len(world.take()) == 3
    world.change(import_generation=2)  # what `vitally-sync import --restart` writes
    await world.sync.round()
    assert world.take() == ["import:c2", "import:c1", "import:c0"]
    restarted = world.walks.get(TENANT, "import")
    assert restarted is not None and (restarted.generation, restarted.state) == (2, "done")


async def test_reconciliation_runs_each_interval_from_the_watermark(
    world: World, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    world.sync.owned = {owner_partition(TENANT, PARTITIONS)}
    # Created before connecting: reconciled because the import reaches back to them.
    world.change(reconcile_interval_seconds=60)
    await world.sync.round()
    first = [e for e in world.take() if e.startswith("reconcile:")]
    assert "reconcile:c2" in first and "reconcile:c0" in first
    pass_one = world.walks.get(TENANT, "reconcile")
    assert pass_one is not None and pass_one.watermark == datetime(2026, 12, 4, tzinfo=UTC)
    await world.sync.round()
    assert world.take() == []  # the interval has not passed
    unthread_sandbox.update_conversation(TENANT, "c1", status="closed")
    world.clock += timedelta(seconds=61)
    await world.sync.round()
    # Only what changed since the watermark (and the watermark's own conversation again).
    second = {e.split(":")[1] for e in world.take()}
    assert second == {"c1", "c2"}
    pass_two = world.walks.get(TENANT, "reconcile")
    assert pass_two is not None and pass_two.watermark is not None
    # A change stamped a few seconds before the newest one seen (another server's clock, a
    # late write) is still read by the next pass; an older one is not read again.
    late = pass_two.watermark - timedelta(seconds=5)
    unthread_sandbox.update_conversation(TENANT, "c0", status="closed", updatedAt=late.isoformat())
    world.clock += timedelta(seconds=61)
    await world.sync.round()
    assert {e.split(":")[1] for e in world.take()} == {"c0", "c1"}


async def test_a_disconnected_tenant_is_not_walked(world: World) -> None:
    world.sync.owned = {owner_partition(TENANT, PARTITIONS)}
    world.change(status="disconnected")
    await world.sync.round()
    assert world.take() == [] and world.walks.get(TENANT, "import") is None


async def test_an_outage_waits_out_its_backoff_then_resumes_where_it_stood(
    world: World, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    world.sync.owned = {owner_partition(TENANT, PARTITIONS)}
    unthread_sandbox.set_faults(outage_seconds=600)
    await world.sync.round()
    waiting = world.walks.get(TENANT, "import")
    assert waiting is not None and (waiting.state, waiting.error) == (
        "waiting",
        "unthread_unavailable",
    )
    unthread_sandbox.set_faults(outage_seconds=0)
    await world.sync.round()
    assert world.take() == []  # Unthread answers again, but the next try is not due yet
    world.clock += timedelta(seconds=2)
    await world.sync.round()
    assert world.take() == ["import:c2", "import:c1", "import:c0"]
    done = world.walks.get(TENANT, "import")
    assert done is not None and (done.state, done.error, done.failures) == ("done", None, 0)


async def test_a_refused_key_needs_attention_and_a_reconnect_resumes(
    world: World, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    world.sync.owned = {owner_partition(TENANT, PARTITIONS)}
    unthread_sandbox.add_tenant(TENANT, keys=[{"key": KEY, "disabled": True}])
    await world.sync.round()
    paused = world.walks.get(TENANT, "import")
    assert paused is not None and (paused.state, paused.error) == ("paused", "unthread_auth_failed")
    # As when a look-up is refused: the integration needs attention, nothing walks meanwhile.
    flagged = world.tenants.saved
    assert (flagged.status, flagged.status_reason) == ("needs_attention", "unthread_auth_failed")
    await world.sync.round()
    assert world.take() == []
    unthread_sandbox.add_tenant(TENANT, keys=[KEY], conversations=[
        {"id": "c9", "status": "open", "createdAt": "2026-11-29T00:00:00Z"}
    ])  # fmt: skip
    world.change(status="connected", status_reason=None)  # the tenant reconnected
    await world.sync.round()
    assert world.take() == ["import:c9"]


async def test_a_walk_told_to_stop_while_paced_keeps_its_place(world: World) -> None:
    world.sync.owned = {owner_partition(TENANT, PARTITIONS)}
    stopped = False

    def nothing_handled(partition: int) -> int | None:
        nonlocal stopped
        stopped = True  # the agent never catches up, and the partition moves meanwhile
        world.sync.owned = set()
        return 0

    world.handled = nothing_handled
    await world.sync.round()
    walk = world.walks.get(TENANT, "import")
    # c2 went (one event, the limit); c1 waited for it to be handled, and was not produced.
    assert stopped and world.take() == ["import:c2"]
    assert walk is not None and (walk.state, walk.conversations, walk.page_done) == (
        "running",
        1,
        1,
    )
    world.handled = lambda partition: 1_000_000
    world.sync.owned = {owner_partition(TENANT, PARTITIONS)}
    await world.sync.round()
    assert world.take() == ["import:c1", "import:c0"]
