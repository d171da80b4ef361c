"""The fault suite (README, "Fault suite"): a real broker, the sandbox, the worker in subprocesses.

Each scenario produces a deterministic workload (tests/faults/workload.py) while a fault
hits, then measures the sandbox against what was produced: lost = duplicates = order
violations = 0. Each prints one FAULT summary line and appends it to
.local/fault-report.jsonl.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from schemas.audit import is_result
from streams.shutdown import STUCK_EXIT_CODE
from tests.faults.feeder import produce_compressed
from tests.faults.hostile_input import (
    CODECS,
    Hostile,
    deeply_nested,
    interleave,
    near_the_limit,
    surrogates_in_the_envelope,
    with_cut_emoji,
)
from tests.faults.malformed import malformed_records
from tests.faults.offsets import rewind
from tests.faults.report import REPORT
from tests.faults.scenario import Scenario
from tests.faults.workload import Workload
from tests.fixtures.kafka import KafkaBroker, consume_all, set_topic_config
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.faults, pytest.mark.kafka]

# Long enough for a worker that waits out the production park backoff (up to 300 s), so the
# report says how long it took instead of timing out; a healthy run needs a fraction of it.
BLIND_BACKOFF_TIMEOUT_S = 420.0
# The broker's default max.message.bytes, given back to a topic a scenario made unwritable.
KAFKA_MAX_MESSAGE_BYTES = "1048588"


def _posts(sandbox: SandboxHandle, subdomains: list[str]) -> int:
    return sum(
        n
        for s in subdomains
        for route, n in sandbox.stats(s)["byRoute"].items()
        if route.startswith("POST ")
    )


def test_sigkill_three_times(fault_deployment: Deployment, sandbox: SandboxHandle) -> None:
    run = Scenario("sigkill", fault_deployment, sandbox, Workload(2, 150, 9, prefix="k"))
    feeder = run.start_fed(latency_ms=25, rate=150)
    for fraction in (0.2, 0.45, 0.7):
        run.wait_messages(fraction)
        run.mark("SIGKILL")
        run.crew.kill()  # and a replacement with its WORKER_ID starts right away
    run.fault_over("third replacement started")
    run.all_produced(feeder)
    run.finish()


def test_sigkill_without_restart(fault_deployment: Deployment, sandbox: SandboxHandle) -> None:
    """Two workers, one is SIGKILLed and never comes back: the other takes its partitions
    over once the group's session timeout has passed."""
    run = Scenario("sigkill_no_restart", fault_deployment, sandbox, Workload(2, 60, 9, prefix="n"))
    feeder = run.start_fed(latency_ms=10, rate=60, workers=2)
    run.wait_messages(0.3)
    run.crew.kill(restart=False)
    run.fault_over("SIGKILL, no replacement")
    run.all_produced(feeder)
    run.finish()


def test_rolling_restart(fault_deployment: Deployment, sandbox: SandboxHandle) -> None:
    """A deploy: three workers, each stopped with SIGTERM and replaced (the same WORKER_ID),
    one after the other."""
    run = Scenario("rolling_restart", fault_deployment, sandbox, Workload(2, 120, 9, prefix="d"))
    feeder = run.start_fed(latency_ms=10, rate=60, workers=3)
    run.wait_messages(0.15)
    for worker in list(run.crew.active):
        name = run.crew.worker_id(worker)
        run.mark(f"SIGTERM {name}")
        code, replacement = run.crew.restart(worker)
        if code != 0:
            run.crew.save_logs(REPORT.parent / "fault-logs" / run.name)
        # STUCK_EXIT_CODE: Faust's stop hung (SIGTERM during an assignment) and the
        # worker's shutdown deadline ended it; reported as stop_exits.
        assert code in (0, STUCK_EXIT_CODE), f"{name} exited {code}: .local/fault-logs/{run.name}"
        replacement.wait_ready()
        run.mark(f"{name} replaced and ready")
    run.fault_over("all three replaced")
    run.all_produced(feeder)
    run.finish()


@pytest.mark.timeout(BLIND_BACKOFF_TIMEOUT_S + 180)
def test_sandbox_503_for_20s(fault_deployment: Deployment, sandbox: SandboxHandle) -> None:
    """Vitally answers 503 to everything for 20 s; the production park delays."""
    run = Scenario(
        "outage503", fault_deployment, sandbox, Workload(2, 60, 9, prefix="o"),
        env={"RETRY_ATTEMPTS": "3"}, fast_parking=False,
    )  # fmt: skip
    feeder = run.start_fed(latency_ms=10, rate=60)
    run.wait_messages(0.25)
    run.mark("outage of 20 s starts")
    sandbox.set_faults(outage_seconds=20)
    outage_ends = time.monotonic() + 20
    time.sleep(max(0.0, outage_ends - time.monotonic()))
    run.fault_over("Vitally answers again")
    run.all_produced(feeder)
    run.finish(timeout=BLIND_BACKOFF_TIMEOUT_S)


def test_join_while_vitally_times_out(fault_deployment: Deployment, sandbox: SandboxHandle) -> None:
    """A worker joins while every Vitally call times out: the owner's in-flight events stop
    retrying at once and park, so the rebalance does not wait out their retries."""
    run = Scenario(
        "join_slow_vitally", fault_deployment, sandbox, Workload(2, 60, 9, prefix="j"),
        # Each event's in-line retries would take ~31 s: 8 calls of 1 s, waits of 1+2+4x5 s.
        env={
            "HTTP_TIMEOUT_SECONDS": "1",
            "RETRY_ATTEMPTS": "8",
            "RETRY_BASE_DELAY_SECONDS": "1",
            "RETRY_MAX_DELAY_SECONDS": "4",
        },
    )  # fmt: skip
    feeder = run.start_fed(latency_ms=10, rate=60)
    run.wait_messages(0.25)
    run.mark("Vitally answers after 1.5 s, past the 1 s timeout")
    sandbox.set_faults(latency_ms=1500)
    time.sleep(3)  # the owner's events are in their in-line retries now
    run.mark("second worker starts")
    joining = time.monotonic()
    run.crew.start()
    join_s = round(time.monotonic() - joining, 1)
    run.mark("second worker ready")
    sandbox.set_faults(latency_ms=10)
    run.all_produced(feeder)
    run.finish(join_seconds=join_s)


@pytest.mark.timeout(BLIND_BACKOFF_TIMEOUT_S + 180)
def test_429_storm(fault_deployment: Deployment, sandbox: SandboxHandle) -> None:
    """The tenants' limits drop to 20/min for 20 s; the production park delays."""
    workload = Workload(2, 60, 9, prefix="r")
    run = Scenario("storm429", fault_deployment, sandbox, workload, fast_parking=False)
    feeder = run.start_fed(latency_ms=10, rate=60)
    run.wait_messages(0.25)
    run.mark("rate limit 20/min")
    for tenant in workload.tenant_list():
        sandbox.set_faults(tenant.subdomain, rate_limit=20)
    time.sleep(20)
    for tenant in workload.tenant_list():
        sandbox.set_faults(tenant.subdomain, rate_limit=None)  # back to the org's own limit
    run.fault_over("rate limit back")
    run.all_produced(feeder)
    run.finish(timeout=BLIND_BACKOFF_TIMEOUT_S)


def test_broker_restart(
    fault_deployment: Deployment, sandbox: SandboxHandle, kafka_bootstrap: KafkaBroker
) -> None:
    if kafka_bootstrap.local is None:
        pytest.skip("needs a broker started by this test session (kafka_local)")
    run = Scenario("broker_restart", fault_deployment, sandbox, Workload(2, 60, 9, prefix="b"))
    feeder = run.start_fed(latency_ms=10, rate=60)
    run.wait_messages(0.3)
    run.mark("broker restart")
    kafka_bootstrap.restart()
    run.fault_over("broker back")
    run.all_produced(feeder)
    run.finish()


def test_scale_1_3_1(fault_deployment: Deployment, sandbox: SandboxHandle) -> None:
    run = Scenario("scale_1_3_1", fault_deployment, sandbox, Workload(2, 90, 9, prefix="s"))
    feeder = run.start_fed(latency_ms=20, rate=60)
    run.wait_messages(0.15)
    run.mark("starting 2 more workers")
    joining = [run.crew.start(wait=False) for _ in range(2)]
    for worker in joining:
        worker.wait_ready()
    run.mark("3 workers ready")
    run.wait_messages(0.55)
    run.mark("stopping 2 workers")
    for _ in range(2):
        assert run.crew.stop() == 0
    run.mark("1 worker left")
    run.all_produced(feeder)
    run.finish()


@pytest.mark.timeout(BLIND_BACKOFF_TIMEOUT_S)
def test_unwritable_audit_topic(fault_deployment: Deployment, sandbox: SandboxHandle) -> None:
    """For 20 s the audit topic refuses every record (its max.message.bytes below any audit
    record), at the default settings: nothing is committed past a record whose audit record
    is not in, and once the topic takes records again every input record has its final
    audit record, without a restart and without a good event in the DLQ."""
    deployed = fault_deployment
    workload = Workload(2, 60, 9, prefix="u")
    run = Scenario("unwritable_audit", deployed, sandbox, workload, fast_parking=False)
    feeder = run.start_fed(latency_ms=10, rate=60)
    run.wait_messages(0.25)
    run.mark("audit topic refuses every record")
    set_topic_config(deployed.bootstrap, deployed.audit_topic, "max.message.bytes", "64")
    time.sleep(20)
    set_topic_config(
        deployed.bootstrap, deployed.audit_topic, "max.message.bytes", KAFKA_MAX_MESSAGE_BYTES
    )
    run.fault_over("audit topic takes records again")
    run.all_produced(feeder)
    run.finish()
    audit = _final_audit(deployed, workload.events, timeout=60)
    final = {
        (a["source"]["partition"], a["source"]["offset"])
        for a in audit
        if is_result(a["outcome"], a["reason"])
    }
    assert len(final) == workload.events, f"{len(final)} of {workload.events} records audited"
    assert run.written()["dlq_records"] == 0
    assert run.crew.revived == 0, f"workers exited: {run.crew.exits}"


def test_malformed_records_interleaved(
    fault_deployment: Deployment, sandbox: SandboxHandle
) -> None:
    workload = Workload(2, 50, 9, prefix="m")
    bad_count = 1000
    run = Scenario(
        "malformed", fault_deployment, sandbox, workload, env={"MAX_EVENT_BYTES": "8192"},
        extra_events=bad_count,
    )  # fmt: skip
    run.connect()
    good = [(r.key, r.value) for r in workload.records()]
    bad = malformed_records(bad_count, workload.conversation_ids(), max_bytes=8192)
    records = [pair for g, b in zip(good, bad, strict=True) for pair in (g, b)]
    run.crew.start()
    run.feeder(rate=300, records=records).wait()
    run.finish()

    dead = fault_deployment.dlq(expected=bad_count, timeout=60)
    by_source = {(_header(r, "x-source-partition"), _header(r, "x-source-offset")): r for r in dead}
    assert len(by_source) == bad_count, f"{len(dead)} DLQ records, {len(by_source)} distinct"
    assert Counter((r.key, r.value) for r in by_source.values()) == Counter(bad)
    assert all(_header(r, "x-error-reason") for r in by_source.values())
    audit = fault_deployment.audit(expected=len(records), timeout=60)
    invalid = {
        (str(a["source"]["partition"]), str(a["source"]["offset"]))
        for a in audit
        if a["outcome"] == "failed" and a["reason"] == "invalid_event"
    }
    assert invalid == set(by_source)


def test_replay_of_a_synced_topic(fault_deployment: Deployment, sandbox: SandboxHandle) -> None:
    workload = Workload(2, 50, 9, prefix="p")
    run = Scenario("replay", fault_deployment, sandbox, workload)
    run.connect()
    subdomains = list(workload.expected())
    run.crew.start()
    run.feeder(rate=float("inf")).wait()
    first, settled = run.synced()
    run.check(first, settled)
    before = ({s: sandbox.conversations(s) for s in subdomains}, _posts(sandbox, subdomains))
    run.crew.stop_all()

    rewind(fault_deployment.bootstrap, fault_deployment.name, fault_deployment.input_topic)
    run.crew.start()
    audit = _final_audit(fault_deployment, 2 * workload.events, timeout=90)
    run.crew.save_logs(REPORT.parent / "fault-logs" / run.name)
    outcomes: dict[tuple[int, int], list[str]] = {}
    set_aside: Counter[str | None] = Counter()
    for record in audit:
        source = (record["source"]["partition"], record["source"]["offset"])
        outcomes.setdefault(source, [])
        if not is_result(record["outcome"], record["reason"]):
            # Not an outcome but a wait: a burst of one tenant past MAX_IN_FLIGHT_PER_TENANT
            # parks its further events briefly, the later events of their conversations wait
            # behind them, and all come back in order (as do events a stopping worker hands
            # over). A record redelivered while its event is parked says so: already_parked.
            set_aside[record["reason"]] += 1
            continue
        outcomes[source].append(record["outcome"])
    waits = {"tenant_backlogged", "waiting_for_earlier_event", "worker_handover", "already_parked"}
    assert set(set_aside) <= waits, set_aside
    replayed = [
        o for o in outcomes.values() if o[0] == "synced" and o[1:] and set(o[1:]) == {"duplicate"}
    ]
    assert len(outcomes) == workload.events
    assert len(replayed) == workload.events, Counter(json.dumps(o) for o in outcomes.values())
    after = ({s: sandbox.conversations(s) for s in subdomains}, _posts(sandbox, subdomains))
    counts = run.finish(posts_during_replay=after[1] - before[1], first_sync=first.found)
    assert after[1] == before[1], "the replay wrote to Vitally"
    assert after[0] == before[0], "the replay changed the sandbox"
    assert counts.found == first.found


def _header(record: object, name: str) -> str:
    headers = dict(getattr(record, "headers", []))
    value = headers.get(name)
    return value.decode() if isinstance(value, bytes) else ""


def _final_audit(deployment: Deployment, expected: int, timeout: float) -> list[dict[str, Any]]:
    """The audit topic once it holds `expected` results besides the records of waits
    (`parked`, `duplicate/already_parked`: they come on top, in numbers the test cannot
    know), or what it holds at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        audit = deployment.audit(expected=expected, timeout=max(1.0, deadline - time.monotonic()))
        final = sum(is_result(record["outcome"], record["reason"]) for record in audit)
        if final >= expected or time.monotonic() >= deadline:
            return audit
        time.sleep(0.5)


def test_hostile_input_shapes(fault_deployment: Deployment, sandbox: SandboxHandle) -> None:
    """Records compressed with each codec (in turn, a chunk each), a cut emoji in message
    texts and in every envelope field, JSON nested 100,000 deep; default settings."""
    workload = Workload(2, 20, 5, prefix="h")
    run = Scenario("hostile_input", fault_deployment, sandbox, workload, fast_parking=False)
    run.connect()
    conversations = workload.conversation_ids()
    hostile = [
        *(h for n, c in enumerate(conversations[:4]) for h in surrogates_in_the_envelope(n, c)),
        *(deeply_nested(n, conversations[n]) for n in (4, 5)),
    ]
    run.extra_events = len(hostile)
    good = with_cut_emoji([(r.key, r.value) for r in workload.records()], every=7)
    run.crew.start()
    d = fault_deployment
    produce_compressed(d.bootstrap, d.input_topic, interleave(good, hostile), CODECS, chunk=20)
    run.mark(f"all produced, {len(CODECS)} codecs in turn")
    run.finish()
    _only_the_hostile_in_the_dlq(run, hostile)


def _only_the_hostile_in_the_dlq(run: Scenario, hostile: list[Hostile]) -> None:
    """No good event in the DLQ, every bad one there once, and the worker never stopped.

    Each dead letter is matched to the input record its x-source-* headers name, so a copy
    cut to fit a produce request still counts as that record."""
    dead = [h.raw for h in hostile if h.dead_letter]
    d = run.deployed
    letters = d.dlq(expected=len(dead), timeout=60)
    inputs = {
        (r.partition, r.offset): (r.key, r.value)
        for r in consume_all(
            d.bootstrap, d.input_topic, 60, expected_count=run.workload.events + run.extra_events
        )
    }
    sources = Counter(
        inputs.get((int(_header(r, "x-source-partition")), int(_header(r, "x-source-offset"))))
        for r in letters
    )
    assert sources == Counter(dead), [
        h.name for h in hostile if h.dead_letter and not sources[h.raw]
    ]
    assert (run.crew.revived, run.crew.exits) == (0, []), run.crew.log_tails()
    assert all(w.process.poll() is None for w in run.crew.active)


def test_key_and_value_near_the_message_limit(
    fault_deployment: Deployment, sandbox: SandboxHandle
) -> None:
    """A value and a key each near the broker's 1 MiB limit, in two conversations' lanes;
    default settings (MAX_EVENT_BYTES 256,000: both are refused, and copied to the DLQ)."""
    workload = Workload(2, 10, 3, prefix="l")
    run = Scenario("near_limit", fault_deployment, sandbox, workload, fast_parking=False)
    run.connect()
    conversations = workload.conversation_ids()
    hostile = [h for n in (0, 1) for h in near_the_limit(n, conversations[n * 7])]
    run.extra_events = len(hostile)
    run.crew.start()
    good = [(r.key, r.value) for r in workload.records()]
    run.feeder(rate=float("inf"), records=interleave(good, hostile)).wait()
    run.mark("all produced")
    run.finish()
    _only_the_hostile_in_the_dlq(run, hostile)
