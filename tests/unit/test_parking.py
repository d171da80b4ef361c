from __future__ import annotations

from faust.types import TP

from schemas.state import ParkedEvent
from streams.parking import ParkedIndex, ParkingPolicy
from streams.seam.flow import PartitionWindow
from streams.tenant_gate import TenantGate

POLICY = ParkingPolicy(min_delay_s=10, max_delay_s=100, transient_max_delay_s=40,
                       people_window_s=1000, jitter=0)  # fmt: skip


def parked(reason: str, *, partition: int = 0, due: int = 0, offset: int = 1) -> ParkedEvent:
    return ParkedEvent(topic="in", partition=partition, offset=offset, key="c", value="{}",
                       reason=reason, first_parked_at=0, next_attempt_at=due)  # fmt: skip


def test_backoff_doubles_from_the_minimum_up_to_the_cap_for_its_kind() -> None:
    delays = [POLICY.next_attempt(0, "customer_not_in_vitally", n) for n in range(1, 7)]
    assert delays == [10_000, 20_000, 40_000, 80_000, 100_000, 100_000]
    transient = [POLICY.next_attempt(0, "vitally_unavailable", n) for n in range(1, 5)]
    assert transient == [10_000, 20_000, 40_000, 40_000]


def test_a_backlogged_tenant_is_tried_again_soon_without_backoff() -> None:
    assert POLICY.next_attempt(5_000, "tenant_backlogged", 9) == 6_000


def test_a_handed_over_event_is_due_at_once() -> None:
    assert POLICY.next_attempt(5_000, "worker_handover", 1) == 5_000
    assert not POLICY.gives_up("worker_handover", 0, 10**12)


def test_missing_people_a_tenant_needing_attention_and_a_missing_create_are_given_up_on() -> None:
    assert not POLICY.gives_up("customer_not_in_vitally", 0, 999_999)
    assert POLICY.gives_up("customer_not_in_vitally", 0, 1_000_000)
    assert POLICY.gives_up("teammate_not_in_vitally", 0, 5_000_000)
    fortnight = 14 * 24 * 3600 * 1000
    assert not POLICY.gives_up("integration_needs_attention", 0, fortnight - 1)
    assert POLICY.gives_up("integration_needs_attention", 0, fortnight)
    assert POLICY.gives_up("waiting_for_create", 0, 3_600_000)
    for reason in ("vitally_unavailable", "tenant_backlogged", "worker_handover"):
        assert not POLICY.gives_up(reason, 0, 10**12)


def test_what_waits_for_an_operator_or_a_create_is_due_only_at_its_window_end() -> None:
    assert POLICY.next_attempt(5_000, "integration_needs_attention", 7, 1_000) == (
        1_000 + 14 * 24 * 3600 * 1000
    )
    assert POLICY.next_attempt(5_000, "waiting_for_create", 1, 2_000) == 2_000 + 3_600_000


def test_index_yields_due_conversations_of_owned_partitions_once_until_resend() -> None:
    index = ParkedIndex(resend_after_ms=1_000)
    index.update("T1/a", "T1", [parked("vitally_unavailable", partition=0, due=100)])
    index.update("T1/b", "T1", [parked("vitally_unavailable", partition=1, due=100)])
    index.update("T1/c", "T1", [parked("vitally_unavailable", partition=0, due=900)])
    assert index.due(500, {0}) == [("T1/a", 0)]
    assert index.due(600, {0}) == []  # sent a moment ago
    assert sorted(index.due(2_000, {0, 1})) == [("T1/a", 0), ("T1/b", 1), ("T1/c", 0)]


def test_index_forgets_resolved_conversations_and_wakes_a_reconnected_tenant() -> None:
    index = ParkedIndex()
    index.update("T1/a", "T1", [parked("integration_needs_attention", due=10**15)])
    index.update("T2/b", "T2", [parked("integration_needs_attention", due=10**15)])
    assert index.due(1_000, {0}) == []
    index.wake_tenant("T1")
    assert index.due(1_000, {0}) == [("T1/a", 0)]
    index.update("T1/a", "T1", [])
    assert len(index) == 1


def test_tenant_gate_caps_each_tenant_separately() -> None:
    gate = TenantGate(cap=2)
    assert gate.try_enter("A") and gate.try_enter("A")
    assert not gate.try_enter("A")
    assert gate.try_enter("B")
    gate.leave("A")
    assert gate.try_enter("A")
    assert gate.busy("A") == 2 and gate.busy("B") == 1


def test_window_pauses_a_full_partition_and_resumes_it_at_half() -> None:
    counts = {TP("in", 0): 0, TP("in", 1): 0}
    paused: list[TP] = []
    resumed: list[TP] = []
    window = PartitionWindow(
        4, in_flight=lambda tp: counts[tp], pause=lambda tps: paused.extend(tps),
        resume=lambda tps: resumed.extend(tps), may_resume=lambda: True,
    )  # fmt: skip
    hot = TP("in", 0)
    for _ in range(4):
        counts[hot] += 1
        window.admitted(hot)
    assert paused == [hot]
    counts[hot] = 3
    window.finished(hot)
    assert resumed == []
    counts[hot] = 2
    window.finished(hot)
    assert resumed == [hot]
    counts[TP("in", 1)] = 1
    window.admitted(TP("in", 1))
    assert paused == [hot]


def test_the_oldest_waiting_event_per_reason_counts_queue_heads_and_aside_events() -> None:
    def since(reason: str, at: int, offset: int) -> ParkedEvent:
        return parked(reason, offset=offset).model_copy(update={"first_parked_at": at})

    index = ParkedIndex()
    index.update("T1/a", "T1", [since("vitally_unavailable", 5_000, 1)])  # the queue's head
    aside = [since("customer_not_in_vitally", 2_000, 3), since("vitally_unavailable", 3_000, 4)]
    index.update("T2/b", "T2", aside)
    assert index.waiting_ages(now_ms=11_000) == {
        "vitally_unavailable": 8.0,
        "customer_not_in_vitally": 9.0,
    }
    index.update("T2/b", "T2", [])  # resolved
    assert index.waiting_ages(now_ms=11_000) == {"vitally_unavailable": 6.0}


def test_what_waits_for_a_tenant_that_works_again_is_due_at_once_after_a_rebuild() -> None:
    # A worker that starts after the reconnect never saw it: the tenant's state decides.
    cleared = {"T1"}
    index = ParkedIndex(attention_cleared=lambda tenant: tenant in cleared)
    index.rebuild([
        ("T1/a", "T1", [parked("integration_needs_attention", due=10**15)]),
        ("T2/b", "T2", [parked("integration_needs_attention", due=10**15)]),
    ])  # fmt: skip
    assert index.due(1_000, {0}) == [("T1/a", 0)]
