"""ConversationIndex: look-ups by externalId read the list back far enough, and share scans."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest

from processors.clock import SystemClock
from processors.conversation_index import ConversationIndex
from processors.protocols import VitallyApi
from processors.results import HandOver
from schemas.vitally import (
    Page,
    VitallyConversation,
    VitallyConversationSummary,
    VitallyMessage,
)
from tests.fakes import FakeTime
from tests.unit.vitally.fakes import ACME, GLOBEX
from vitally import RetryPolicy, VitallyClient, VitallyTarget

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)


class Listing:
    """A tenant's conversation list, newest first, one conversation per page, an hour apart:
    page n holds c_n, created n hours before noon (or undated)."""

    def __init__(self, pages: int, *, dated: bool = True) -> None:
        self.pages = pages
        self.dated = dated
        self.asked: list[tuple[str, int]] = []  # (tenant, page)

    async def list_conversations(
        self, target: VitallyTarget, limit: int = 100, cursor: str | None = None
    ) -> Page[VitallyConversationSummary]:
        n = int(cursor or 1)
        self.asked.append((target.tenant_id, n))
        created = NOON - timedelta(hours=n) if self.dated else None
        item = VitallyConversationSummary(id=f"v{n}", external_id=f"c_{n}", created_at=created)
        return Page[VitallyConversationSummary](
            results=[item], next=str(n + 1) if n < self.pages else None
        )


def index(listing: Listing, **kwargs: Any) -> ConversationIndex:
    kwargs.setdefault("clock", SystemClock())
    return ConversationIndex(cast(VitallyApi, listing), **kwargs)


async def test_reads_back_to_the_time_given_not_a_fixed_number_of_pages() -> None:
    listing = Listing(10)
    found = await index(listing).conversation(ACME, "c_6", NOON - timedelta(hours=6, minutes=30))
    assert found == "v6"  # beyond the three newest pages
    listing.asked.clear()
    since_5 = NOON - timedelta(hours=5, minutes=30)
    assert await index(listing).conversation(ACME, "c_x", since_5) is None
    assert [n for _, n in listing.asked] == [1, 2, 3, 4, 5, 6]  # page 6 is older: stop there


async def test_without_dates_or_a_time_the_newest_pages_only() -> None:
    undated = Listing(10, dated=False)
    assert await index(undated).conversation(ACME, "c_5", NOON - timedelta(days=1)) is None
    assert len(undated.asked) == 3
    dated = Listing(10)
    assert await index(dated).conversation(ACME, "c_5", None) is None
    assert len(dated.asked) == 3


async def test_at_most_max_pages_and_the_end_of_the_list() -> None:
    listing = Listing(10)
    assert (
        await index(listing, max_pages=4).conversation(ACME, "c_9", NOON - timedelta(days=1))
        is None
    )
    assert len(listing.asked) == 4
    short = Listing(2)
    assert await index(short).conversation(ACME, "c_9", NOON - timedelta(days=1)) is None
    assert len(short.asked) == 2


async def test_one_scan_answers_every_look_up_of_a_tenant_that_it_covers() -> None:
    # A takeover's backlog: many creates of one tenant are looked up at once.
    listing = Listing(10)
    conversations = index(listing)
    since = NOON - timedelta(hours=8, minutes=30)
    found = await asyncio.gather(
        *(conversations.conversation(ACME, f"c_{n}", since) for n in (2, 5, 8, 11))
    )
    assert found == ["v2", "v5", "v8", None]
    assert len(listing.asked) == 9  # one scan, back past 03:30
    await conversations.conversation(GLOBEX, "c_1", since)
    assert len(listing.asked) == 18  # another tenant has its own list
    await conversations.conversation(ACME, "c_9", NOON - timedelta(hours=9, minutes=30))
    assert len(listing.asked) == 28  # further back than the scan reached: read again


async def test_a_create_of_ours_that_may_land_late_is_judged_only_by_a_later_scan() -> None:
    listing = Listing(3)
    t = FakeTime(1000.0)
    conversations = index(listing, settle_s=10, clock=t, sleep=t.sleep)
    since = NOON - timedelta(days=1)
    conversations.may_have_written(ACME, "c_4")  # our create of c_4 got no answer at 1000
    t.seconds = 1000.01
    assert await conversations.conversation(ACME, "c_1", since) == "v1"  # another lane's scan
    listing.pages = 4  # 1000.5: Vitally commits c_4 after all
    t.seconds = 1008.0
    assert await conversations.conversation(ACME, "c_4", since) == "v4"
    assert t.slept == [2.0]  # until Vitally is done with it; the 1000.01 scan cannot answer
    asked = len(listing.asked)
    assert await conversations.conversation(ACME, "c_2", since) == "v2"
    assert len(listing.asked) == asked  # the newer scan serves the others


async def test_a_parked_write_of_a_predecessor_counts_from_when_it_was_made() -> None:
    listing = Listing(3)
    t = FakeTime(1000.0)
    conversations = index(listing, settle_s=10, clock=t, sleep=t.sleep)
    since = NOON - timedelta(days=1)
    assert await conversations.conversation(ACME, "c_1", since) == "v1"  # scan at 1000
    conversations.may_have_written(ACME, "c_4", at=995.0)  # before the scan, but unanswered
    listing.pages = 4
    t.seconds = 1060.0
    assert await conversations.conversation(ACME, "c_4", since) == "v4"  # read again
    assert t.slept == []


async def test_stopping_ends_a_scan_between_pages_and_its_waiters_share_the_outcome() -> None:
    listing = Listing(10)
    stop = [False]
    original = listing.list_conversations

    async def slow_pages(*args: Any, **kwargs: Any) -> Page[VitallyConversationSummary]:
        await asyncio.sleep(0)
        stop[0] = len(listing.asked) >= 2
        return await original(*args, **kwargs)

    listing.list_conversations = slow_pages  # type: ignore[method-assign]
    conversations = index(listing, stopping=lambda: stop[0])
    since = NOON - timedelta(days=1)
    outcomes = await asyncio.gather(
        *(conversations.conversation(ACME, f"c_{n}", since) for n in range(4)),
        return_exceptions=True,
    )
    assert all(isinstance(o, HandOver) for o in outcomes)
    assert len(listing.asked) == 3  # one scan, stopped after its page in flight


async def test_a_wait_for_a_write_to_settle_is_not_made_while_stopping() -> None:
    t = FakeTime(1000.0)
    stop = [False]
    conversations = index(Listing(3), settle_s=10, clock=t, sleep=t.sleep, stopping=lambda: stop[0])
    conversations.may_have_written(ACME, "c_4")
    stop[0] = True
    with pytest.raises(HandOver):
        await conversations.conversation(ACME, "c_4", None)
    assert t.slept == []


async def test_a_new_assignment_and_age_end_a_scan() -> None:
    listing = Listing(3)
    t = FakeTime()
    conversations = index(listing, keep_s=300, clock=t)
    since = NOON - timedelta(days=1)
    await conversations.conversation(ACME, "c_1", since)
    await conversations.conversation(ACME, "c_2", since)
    assert len(listing.asked) == 3
    conversations.taken_over()  # an earlier owner's creates are in no scan of ours
    await conversations.conversation(ACME, "c_1", since)
    assert len(listing.asked) == 6
    t.seconds = 301.0
    await conversations.conversation(ACME, "c_1", since)
    assert len(listing.asked) == 9


async def test_another_account_of_the_same_tenant_is_scanned_apart() -> None:
    listing = Listing(3)
    conversations = index(listing)
    since = NOON - timedelta(days=1)
    await conversations.conversation(ACME, "c_1", since)
    rekeyed = VitallyTarget(ACME.tenant_id, ACME.base_url, "Basic b3RoZXI6")
    await conversations.conversation(rekeyed, "c_1", since)
    assert len(listing.asked) == 6


async def test_against_the_client_reading_vitallys_json() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("from") or 1)
        item = {"id": f"v{n}", "externalId": f"c_{n}", "createdAt": f"2026-12-01T{12 - n:02d}:00Z"}
        return httpx.Response(200, json={"results": [item], "next": str(n + 1) if n < 8 else None})

    client = VitallyClient(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)), retry=RetryPolicy(jitter=0)
    )
    conversations = ConversationIndex(client, clock=SystemClock())
    since = NOON - timedelta(hours=5, minutes=30)
    assert await conversations.conversation(ACME, "c_5", since) == "v5"
    assert await conversations.conversation(ACME, "c_8", since) is None  # not read: 04:00


class Conversations:
    """Vitally's conversations with their messages, read one at a time."""

    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = {"v1": ["m_1", "m_2"]}
        self.reads = 0

    async def get_conversation(
        self, target: VitallyTarget, conversation_id: str
    ) -> VitallyConversation | None:
        self.reads += 1
        if conversation_id not in self.messages:
            return None
        held = [VitallyMessage(id=f"vm_{m}", external_id=m) for m in self.messages[conversation_id]]
        return VitallyConversation(id=conversation_id, messages=held)


async def test_one_read_of_a_conversation_answers_each_of_its_messages() -> None:
    vitally = Conversations()
    messages = ConversationIndex(cast(VitallyApi, vitally), clock=SystemClock())
    found = [await messages.message(ACME, "v1", m) for m in ("m_1", "m_2", "m_3", "m_4")]
    assert found == ["vm_m_1", "vm_m_2", None, None]
    assert vitally.reads == 1
    assert await messages.message(ACME, "v9", "m_1") is None  # no such conversation
    assert await messages.message(GLOBEX, "v1", "m_1") == "vm_m_1"  # another tenant's read
    assert vitally.reads == 3


async def test_a_post_of_ours_that_may_have_landed_needs_a_newer_read() -> None:
    vitally = Conversations()
    t = FakeTime(1000.0)
    messages = ConversationIndex(cast(VitallyApi, vitally), settle_s=10, clock=t, sleep=t.sleep)
    assert await messages.message(ACME, "v1", "m_3") is None
    t.seconds = 1001.0
    messages.may_have_written(ACME, "m_3")  # our post of m_3 got no answer
    vitally.messages["v1"].append("m_3")  # and Vitally makes it
    assert await messages.message(ACME, "v1", "m_3") == "vm_m_3"
    assert t.slept == [10.0]
    assert await messages.message(ACME, "v1", "m_4") is None
    assert vitally.reads == 2
    messages.taken_over()
    await messages.message(ACME, "v1", "m_4")
    assert vitally.reads == 3


async def test_snapshots_are_capped_and_age() -> None:
    vitally = Conversations()
    vitally.messages.update({"v2": [], "v3": []})
    t = FakeTime()
    messages = ConversationIndex(cast(VitallyApi, vitally), max_snapshots=2, keep_s=300, clock=t)
    for conversation in ("v1", "v2", "v3"):
        await messages.message(ACME, conversation, "m_x")
    await messages.message(ACME, "v3", "m_y")
    assert vitally.reads == 3
    await messages.message(ACME, "v1", "m_y")  # the oldest was dropped past the cap
    assert vitally.reads == 4
    t.seconds = 301.0
    await messages.message(ACME, "v1", "m_z")
    assert vitally.reads == 5
