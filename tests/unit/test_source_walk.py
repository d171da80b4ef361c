"""The walk through Unthread's conversations (import, reconcile) against the Unthread sandbox
as a real server: events in thread order with deterministic ids, progress saved after every
conversation, a resume that does not start over, and what an outage or a revoked key does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.source_walk import SourceWalk
from schemas.events import ConversationEvent, MessageEvent, parse_event
from schemas.source_walk import WalkKind, WalkProgress
from streams.commands.imports import progress_bar
from tests.fixtures.unthread_sandbox import UnthreadSandboxHandle, unthread_sandbox, unthread_server
from unthread import UnthreadClient, UnthreadTarget, build_http_client, default_limiter
from vitally import RetryPolicy

__all__ = ["unthread_sandbox", "unthread_server"]

KEY = "walk-key"
SINCE = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
async def client() -> AsyncIterator[UnthreadClient]:
    client = UnthreadClient(
        build_http_client(timeout=5.0), limiter=default_limiter(),
        retry=RetryPolicy(max_attempts=1, base_delay=0.01, max_delay=0.1, jitter=0.0),
    )  # fmt: skip
    yield client
    await client.aclose()


def seed(sandbox: UnthreadSandboxHandle, count: int) -> UnthreadTarget:
    conversations = [
        {"id": f"c{n:02d}", "status": "open", "title": f"t{n}",
         "createdAt": (SINCE + timedelta(days=n)).isoformat(),
         "initialMessage": {"id": f"c{n:02d}-m0", "ts": "1.000001", "text": "first",
                            "userId": "U1", "timestamp": (SINCE + timedelta(days=n)).isoformat()}}
        for n in range(-1, count)
    ]  # fmt: skip
    sandbox.add_tenant("TW", keys=[KEY, {"key": "off", "disabled": True}],
                       conversations=conversations)  # fmt: skip
    for n in range(count):
        sandbox.post_message("TW", f"c{n:02d}", id=f"c{n:02d}-m1", ts="2.000001", text="two")
        sandbox.post_message("TW", f"c{n:02d}", id=f"c{n:02d}-m2", ts="3.000001", text="three")
    return UnthreadTarget.for_tenant("TW", KEY, sandbox.api_url)


class Recorder:
    def __init__(self, stop_after: int | None = None) -> None:
        self.events: list[tuple[bytes, dict[str, Any]]] = []
        self.saved: list[WalkProgress] = []
        self.stop_after = stop_after

    async def produce(self, key: bytes, value: bytes) -> None:
        self.events.append((key, json.loads(value)))

    async def save(self, progress: WalkProgress) -> None:
        self.saved.append(progress)

    def keep_going(self) -> bool:
        done = self.saved[-1].conversations if self.saved else 0
        return self.stop_after is None or done < self.stop_after

    def walk(self, client: UnthreadClient) -> SourceWalk:
        return SourceWalk(unthread=client, produce=self.produce, save=self.save,
                          now=lambda: datetime.now(UTC), keep_going=self.keep_going)  # fmt: skip


def start(kind: WalkKind = "import") -> WalkProgress:
    now = datetime.now(UTC)
    return WalkProgress(tenant_id="TW", kind=kind, since=SINCE, started_at=now, updated_at=now)


async def test_import_produces_each_conversation_in_order_and_resumes_where_it_stopped(
    client: UnthreadClient, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    target = seed(unthread_sandbox, 5)
    first = Recorder(stop_after=2)
    paused = await first.walk(client).run(target, start(), created_after=None)
    assert (paused.state, paused.conversations, paused.listed) == ("running", 2, 5)
    second = Recorder()
    done = await second.walk(client).run(target, paused, created_after=None)
    assert (done.state, done.conversations, done.events) == ("done", 5, 15)
    events = first.events + second.events
    by_conversation: dict[bytes, list[str]] = {}
    for key, event in events:
        by_conversation.setdefault(key, []).append(event["eventId"])
        parsed = parse_event(key, json.dumps(event).encode(), max_bytes=1_000_000)
        assert parsed.sync_origin == "import" and parsed.conversation_id == key.decode()
        assert isinstance(parsed, ConversationEvent | MessageEvent)
    # Nothing twice across the stop, c-1 (created before importSince) left out, newest first,
    # and in each conversation the create, then its messages by ts (not the initial one again).
    assert list(by_conversation) == [f"c{n:02d}".encode() for n in (4, 3, 2, 1, 0)]
    assert by_conversation[b"c02"] == ["import:c02", "import:c02:c02-m1", "import:c02:c02-m2"]
    assert [p.page_done for p in second.saved][-1] == 5


async def test_reconcile_sends_updates_and_skips_deleted_messages(
    client: UnthreadClient, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    target = seed(unthread_sandbox, 2)
    unthread_sandbox.delete_message("TW", "c01", "c01-m1")
    unthread_sandbox.update_conversation("TW", "c00", status="closed")
    progress = start("reconcile").model_copy(update={"since": datetime.now(UTC) - timedelta(1)})
    recorder = Recorder()
    done = await recorder.walk(client).run(target, progress, created_after=SINCE)
    kinds = [(k.decode(), e["event"], e["data"].get("id")) for k, e in recorder.events]
    assert ("c00", "conversation_updated", "c00") in kinds
    assert next(e for k, e in recorder.events if e["event"] == "conversation_updated"
                and k == b"c00")["data"]["status"] == "closed"  # fmt: skip
    assert ("c01", "message_created", "c01-m1") not in kinds
    assert ("c01", "message_created", "c01-m2") in kinds
    assert done.watermark is not None and done.state == "done"


async def test_outage_waits_with_a_growing_backoff_and_a_refused_key_pauses(
    client: UnthreadClient, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    target = seed(unthread_sandbox, 1)
    unthread_sandbox.set_faults(outage_seconds=60)
    waiting = await Recorder().walk(client).run(target, start(), created_after=None)
    stood = (waiting.state, waiting.error, waiting.failures)
    assert stood == ("waiting", "unthread_unavailable", 1)
    again = await Recorder().walk(client).run(target, waiting, created_after=None)
    assert again.failures == 2 and again.retry_at is not None and waiting.retry_at is not None
    # The second wait is twice the first (1 s, then 2 s, up to a minute).
    assert again.retry_at - again.updated_at > waiting.retry_at - waiting.updated_at
    unthread_sandbox.set_faults(outage_seconds=0)
    resumed = await Recorder().walk(client).run(target, again, created_after=None)
    assert (resumed.state, resumed.error, resumed.failures, resumed.retry_at) == (
        "done",
        None,
        0,
        None,
    )
    refused = UnthreadTarget.for_tenant("TW", "off", unthread_sandbox.api_url)
    paused = await Recorder().walk(client).run(refused, start(), created_after=None)
    assert (paused.state, paused.error) == ("paused", "unthread_auth_failed")


async def test_edits_and_deletions_become_events_after_their_message_with_stable_ids(
    client: UnthreadClient, unthread_sandbox: UnthreadSandboxHandle
) -> None:
    target = seed(unthread_sandbox, 2)
    edited = unthread_sandbox.edit_message("TW", "c00", "c00-m1", "two, edited")
    unthread_sandbox.edit_message("TW", "c00", "c00-m0", "first, edited")
    unthread_sandbox.delete_message("TW", "c01", "c01-m2")
    progress = start("reconcile").model_copy(update={"since": datetime.now(UTC) - timedelta(1)})
    walks = []
    for _ in range(2):
        recorder = Recorder()
        await recorder.walk(client).run(target, progress, created_after=SINCE)
        walks.append([(k.decode(), e["event"], e["eventId"]) for k, e in recorder.events])
    assert walks[0] == walks[1]  # walked again: the same events, answered as duplicates
    kinds = [(k, event, i.split(":")[2] if i.count(":") > 1 else None) for k, event, i in walks[0]]
    c00 = [k for k in kinds if k[0] == "c00"]
    # The edit follows its message's create; the initial message's edit follows the create.
    assert c00.index(("c00", "message_updated", "c00-m1")) == (
        c00.index(("c00", "message_created", "c00-m1")) + 1
    )
    assert ("c00", "message_updated", "c00-m0") in c00
    assert ("c01", "message_deleted", "c01-m2") in kinds
    assert ("c01", "message_created", "c01-m2") not in kinds
    assert not [k for k in kinds if k[1] == "message_updated" and k[2] in ("c00-m2", "c01-m1")]
    edit_ms = int(datetime.fromisoformat(edited["updatedAt"]).timestamp() * 1000)
    assert (f"reconcile:c00:c00-m1:edited:{edit_ms}") in {i for _, _, i in walks[0]}
    for key, value in (e for e in recorder.events if e[1]["event"].startswith("message_")):
        assert parse_event(key, json.dumps(value).encode(), max_bytes=1 << 20).message_id


def test_the_progress_bar_says_why_a_walk_waits_and_until_when() -> None:
    waiting = (
        start()
        .model_copy(update={"listed": 4, "conversations": 1})
        .failed("unthread_unavailable", datetime(2026, 12, 7, 17, 0, 0, tzinfo=UTC))
    )
    bar = progress_bar(waiting)
    assert bar.endswith("waiting (unthread_unavailable, again at 17:00:01 UTC)"), bar
    assert "1/4 conversations" in bar
