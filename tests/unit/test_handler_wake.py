"""A parked event whose tenant's Vitally answers again is resumed before its backoff."""

from __future__ import annotations

from streams.parking import TRANSIENT, ParkingPolicy
from tests.unit.sync_world import TENANT, created
from tests.unit.test_handler import CREATE, Harness, outcome
from vitally.errors import VitallyServerError


async def test_a_woken_event_resumes_before_its_backoff_and_in_order() -> None:
    h = Harness(max_attempts=1)
    h.handler._parking = ParkingPolicy(min_delay_s=60, jitter=0)
    h.vitally.fail_next(
        "create_conversation", VitallyServerError(503, method="POST", path=CREATE), times=1
    )
    parked = await h.feed(created())
    assert outcome(parked) == ("parked", "vitally_unavailable")
    assert await h.resume() == []  # its backoff has not passed: it stays parked
    before = h.state
    assert before is not None and len(h.parked) == 1

    assert h.handler._index.wake(TENANT, TRANSIENT, 10) == 1  # Vitally answers again
    [resolved] = await h.resume()
    assert outcome(resolved) == ("synced", None)
    after = h.state
    assert after is not None and not h.parked
    assert len(h.vitally.conversations(TENANT)) == 1
