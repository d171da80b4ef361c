"""One benchmark run of one system: fresh orgs and topics, start, produce, wait, measure.

Timeline of a run: the sandbox orgs (one per tenant, with its users, admins and token) and
the input topic are created; the system is started and waits until its consumer group owns
every partition (start-up is not charged to it); the workload is produced; the harness reads
the audit topic until every input record has its audit record (a progress bar counts them),
or until nothing arrives for ``stall_timeout`` seconds. Then it reads what the sandbox
holds and computes the figures (see :class:`Result`).

Throughput is counted from the first produced event to the last audit record's
``processedAt``. Vitally calls are the sandbox's request counters for the run's orgs, read
before producing, when half the audit records are in (so the second half gives a steady-state
figure, past the people lookups of a cold cache) and at the end.

A sparse workload (``WorkloadConfig.sparse``) also needs the Unthread sandbox: each tenant
gets a workspace there holding its people and conversations, and is connected with its
Unthread key; the Unthread calls are that sandbox's request counters, read at the same three
moments.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type hints
from unthread_sandbox.process import UnthreadSandboxHandle
from vitally_sandbox.process import SandboxHandle

from bench.checks import (
    CheckResult,
    audit_latencies_ms,
    check_audit,
    check_stored,
    parse_stored,
    percentile,
    write_latencies_ms,
)
from bench.kafka_io import AuditReader, Produced, create_topics, group_lag, produce_workload
from bench.procs import Running
from bench.systems import ConnectedTenant, Deployment, System
from bench.workload import (
    Workload,
    WorkloadConfig,
    generate,
    minimum_lookups,
    unthread_directory,
)
from schemas.audit import is_result

SETTLE_S = 3.0


@dataclass(frozen=True)
class RunOptions:
    bootstrap: str
    workdir: Path
    partitions: int = 8
    # Longer than a parked event's first re-check (PARK_MIN_DELAY_SECONDS, 60 s by default).
    stall_timeout: float = 150.0
    produce_rate: float | None = None  # events/s; None = the whole workload up front
    org_rate_limit: int | None = None  # requests/min per org when the limit is meant to bind


@dataclass(frozen=True)
class Calls:
    requests: int = 0
    throttled: int = 0  # 429 answers

    def __sub__(self, other: Calls) -> Calls:
        return Calls(self.requests - other.requests, self.throttled - other.throttled)


@dataclass
class Result:
    scenario: str
    system: str
    events: int
    finished: int  # input records with an audit record
    seconds: float
    calls: Calls
    steady_calls_per_event: float | None
    latencies_ms: list[float] = field(repr=False)
    latency_basis: str  # "write" (event -> Vitally write) or "audit" (event -> audit record)
    checks: CheckResult
    peak_rss_bytes: int
    cpu_seconds: float  # the system's process tree, from the first produced event to the last
    outcomes: dict[str, int]
    audit_duplicates: int
    parked: int  # input records that were parked at least once on the way
    # When the run stalled: uncommitted input records per partition at that moment.
    stalled_lag: dict[int, int] | None
    rate_limit: int | None
    tenants: int
    # Sparse workloads only: calls to the Unthread sandbox, in all and in the second half,
    # and the calls a perfect cache would make (one per conversation and person).
    unthread_calls: int | None = None
    steady_unthread_calls_per_event: float | None = None
    unthread_minimum: int | None = None

    @property
    def unthread_calls_per_event(self) -> float | None:
        if self.unthread_calls is None or not self.events:
            return None
        return self.unthread_calls / self.events

    @property
    def repeat_unthread_calls_per_event(self) -> float | None:
        """Calls beyond one per conversation and person, per event: the cost once each has
        been looked up (steady state), wherever in the run that happens."""
        if self.unthread_calls is None or self.unthread_minimum is None or not self.events:
            return None
        return max(0, self.unthread_calls - self.unthread_minimum) / self.events

    @property
    def events_per_s(self) -> float:
        return self.finished / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_event(self) -> float:
        return self.cpu_seconds * 1000 / self.finished if self.finished else 0.0

    @property
    def calls_per_event(self) -> float:
        return self.calls.requests / self.events if self.events else 0.0

    @property
    def p50_ms(self) -> float | None:
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float | None:
        return percentile(self.latencies_ms, 99)

    @property
    def lost(self) -> int:
        # Input records without an audit record count as lost too, even if Vitally has them.
        return max(self.checks.lost, self.events - self.finished)

    @property
    def budget_used(self) -> float | None:
        """Calls per minute Vitally accepted, over the limit (all the run's orgs together)."""
        if self.rate_limit is None or self.seconds <= 0:
            return None
        accepted = self.calls.requests - self.calls.throttled
        return accepted / (self.rate_limit * self.tenants * self.seconds / 60)

    @property
    def throttled_share(self) -> float:
        return self.calls.throttled / self.calls.requests if self.calls.requests else 0.0


def run_system(
    scenario: str,
    system: System,
    config: WorkloadConfig,
    sandbox: SandboxHandle,
    options: RunOptions,
    *,
    backlog: bool = False,
    unthread: UnthreadSandboxHandle | None = None,
) -> Result:
    """``backlog``: the whole workload is on the topic before the system starts, as after an
    outage or a takeover; throughput then counts from the moment the system is ready.
    ``unthread``: the Unthread sandbox, required for a sparse workload."""
    suffix = "-backlog" if backlog else "-sparse" if config.sparse else ""
    name = f"b{secrets.token_hex(3)}-{scenario}-{system.name}{suffix}"
    workload = generate(config, prefix=f"{name}-")
    tenants = create_orgs(sandbox, name, workload, options.org_rate_limit)
    if config.sparse:
        if unthread is None:
            raise ValueError("a sparse workload needs the Unthread sandbox")
        tenants = create_workspaces(unthread, workload, tenants)
    else:
        unthread = None
    deployment = Deployment(
        name, options.bootstrap, sandbox.base_url, options.workdir, options.partitions,
        unthread.api_url if unthread else None,
    )  # fmt: skip
    create_topics(options.bootstrap, [deployment.input_topic], options.partitions)
    produced = _ProduceThread(options.bootstrap, deployment.input_topic, workload, options)
    # A backlog goes out once the tenants are connected (events from before that are skipped
    # by design) and before the system's process starts.
    service = system.start(deployment, tenants, produced.all_now if backlog else lambda: None)
    if backlog:
        produced.count_from(time.time())
    else:
        # The group owns every partition now, but a system's own reaction to the assignment
        # (vitally-sync samples each partition's end offset to tell new records from ones a
        # previous owner may have applied) can run a moment later; records produced before
        # it would be taken for a backlog found at takeover. Start-up is not measured.
        time.sleep(SETTLE_S)
    label = system.label + (" (backlog)" if backlog else " (sparse)" if config.sparse else "")
    try:
        return _measure(
            scenario, system, label, workload, tenants, deployment, service, sandbox, options,
            produced, unthread,
        )  # fmt: skip
    finally:
        service.stop()


def create_orgs(
    sandbox: SandboxHandle, name: str, workload: Workload, rate_limit: int | None
) -> list[ConnectedTenant]:
    tenants: list[ConnectedTenant] = []
    for index, plan in enumerate(workload.tenants):
        subdomain = f"{name}-{index:02d}"
        token = f"{subdomain}-{secrets.token_hex(8)}"
        sandbox.add_org(
            subdomain,
            tokens=[token],
            users=[{"email": email, "name": email.split("@")[0]} for email in plan.customers],
            admins=[{"email": email} for email in (*plan.agents, plan.default_admin)],
            rate_limit=rate_limit,
        )
        tenants.append(ConnectedTenant(plan.tenant_id, subdomain, token, plan.default_admin))
    return tenants


def create_workspaces(
    unthread: UnthreadSandboxHandle, workload: Workload, tenants: list[ConnectedTenant]
) -> list[ConnectedTenant]:
    """Each tenant's Unthread workspace (named after its sandbox org, so runs never share
    one), with its people and conversations; the tenants with their Unthread keys."""
    directory = unthread_directory(workload)
    connected: list[ConnectedTenant] = []
    for tenant in tenants:
        workspace = directory[tenant.tenant_id]
        key = f"{tenant.subdomain}-unthread-{secrets.token_hex(8)}"
        unthread.add_tenant(
            tenant.subdomain,
            keys=[key],
            users=list(workspace.users),
            conversations=list(workspace.conversations),
        )
        connected.append(replace(tenant, unthread_tenant=tenant.subdomain, unthread_key=key))
    return connected


def unthread_calls(unthread: UnthreadSandboxHandle, tenants: Iterable[ConnectedTenant]) -> int:
    return sum(
        int(unthread.stats(t.unthread_tenant)["requests"])
        for t in tenants
        if t.unthread_tenant is not None
    )


def org_calls(sandbox: SandboxHandle, tenants: Iterable[ConnectedTenant]) -> Calls:
    total = Calls()
    for tenant in tenants:
        stats = sandbox.stats(tenant.subdomain)
        throttled = int(stats.get("byStatus", {}).get("429", 0))
        total = Calls(total.requests + int(stats["requests"]), total.throttled + throttled)
    return total


class _Progress:
    """Audit records so far, by input record (its ``source``).

    An input record is finished by its first audit record that is its result
    (:func:`schemas.audit.is_result`): a parked event gets one ``parked`` record when it parks
    (and ``duplicate/already_parked`` if redelivered meanwhile) and one more when it resolves.
    A second final record for the same input record is a redelivery (at-least-once).
    """

    def __init__(self) -> None:
        self.finished: dict[tuple[Any, Any, Any], Mapping[str, Any]] = {}
        self.arrivals: list[Mapping[str, Any]] = []
        self.parked: set[tuple[Any, Any, Any]] = set()
        self.redeliveries = 0

    def add(self, audit: Mapping[str, Any]) -> bool:
        """Take one audit record; True when it finishes an input record."""
        source = audit.get("source") or {}
        key = (source.get("topic"), source.get("partition"), source.get("offset"))
        if not is_result(audit.get("outcome"), audit.get("reason")):
            self.parked.add(key)
            return False
        self.arrivals.append(audit)
        if key in self.finished:
            self.redeliveries += 1
            return False
        self.finished[key] = audit
        return True


def _measure(
    scenario: str,
    system: System,
    label: str,
    workload: Workload,
    tenants: list[ConnectedTenant],
    deployment: Deployment,
    service: Running,
    sandbox: SandboxHandle,
    options: RunOptions,
    produced: _ProduceThread,
    unthread: UnthreadSandboxHandle | None,
) -> Result:
    total = len(workload.events)
    before = org_calls(sandbox, tenants) if system.writes_vitally else Calls()
    unthread_before = unthread_calls(unthread, tenants) if unthread else 0
    unthread_middle: tuple[int, int] | None = None
    progress = _Progress()
    reader = AuditReader(options.bootstrap, deployment.audit_topic)
    middle: tuple[Calls, int] | None = None
    stalled: dict[int, int] | None = None
    bar = tqdm(total=total, desc=f"{scenario}/{system.name}", unit="ev", leave=False)
    cpu_before = service.cpu_seconds()
    try:
        produced.start()
        last_arrival = time.monotonic()
        while len(progress.finished) < total:
            fresh = sum(progress.add(a) for a in reader.poll(0.2))
            bar.update(fresh)
            if progress.parked:
                bar.set_postfix(parked=len(progress.parked), refresh=False)
            if fresh:
                last_arrival = time.monotonic()
            elif time.monotonic() - last_arrival > options.stall_timeout:
                stalled = group_lag(
                    options.bootstrap, deployment.name, deployment.input_topic, options.partitions
                )
                break
            if middle is None and system.writes_vitally and len(progress.finished) >= total / 2:
                middle = (org_calls(sandbox, tenants), len(progress.finished))
            if unthread_middle is None and unthread and len(progress.finished) >= total / 2:
                unthread_middle = (unthread_calls(unthread, tenants), len(progress.finished))
            produced.raise_failure()
            service.check_alive()
    finally:
        bar.close()
        reader.close()
    done = produced.wait()
    cpu = service.cpu_seconds() - cpu_before
    service.memory.stop()
    after = org_calls(sandbox, tenants) if system.writes_vitally else Calls()
    unthread_after = unthread_calls(unthread, tenants) if unthread else 0
    audits = list(progress.finished.values())
    expected = {
        conversation_id: ids
        for (_, conversation_id), ids in workload.conversation_messages().items()
    }
    if system.writes_vitally:
        stored = parse_stored(c for t in tenants for c in sandbox.conversations(t.subdomain))
        checks = check_stored(expected, stored)
        latencies, basis = write_latencies_ms(done.at, stored), "write"
    else:
        checks = check_audit(expected, progress.arrivals)
        latencies, basis = audit_latencies_ms(audits), "audit"
    return Result(
        scenario=scenario,
        system=label,
        events=total,
        finished=len(audits),
        seconds=_finished_at(audits) - done.first,
        calls=after - before,
        steady_calls_per_event=_steady(middle, after, len(audits)),
        latencies_ms=latencies,
        latency_basis=basis,
        checks=checks,
        peak_rss_bytes=service.memory.peak_bytes,
        cpu_seconds=cpu,
        outcomes=dict(Counter(str(a.get("outcome")) for a in audits)),
        audit_duplicates=progress.redeliveries,
        parked=len(progress.parked),
        stalled_lag=stalled,
        rate_limit=options.org_rate_limit,
        tenants=len(tenants),
        unthread_calls=unthread_after - unthread_before if unthread else None,
        steady_unthread_calls_per_event=(
            _steady_count(unthread_middle, unthread_after, len(audits)) if unthread else None
        ),
        unthread_minimum=minimum_lookups(workload) if unthread else None,
    )


def _finished_at(audits: list[Mapping[str, Any]]) -> float:
    stamps = [a["processedAt"] for a in audits if isinstance(a.get("processedAt"), int | float)]
    return max(stamps) / 1000 if stamps else time.time()


def _steady(middle: tuple[Calls, int] | None, after: Calls, finished: int) -> float | None:
    if middle is None:
        return None
    return _steady_count((middle[0].requests, middle[1]), after.requests, finished)


def _steady_count(middle: tuple[int, int] | None, after: int, finished: int) -> float | None:
    """Calls per event finished after ``middle`` (calls, events finished then)."""
    if middle is None or finished <= middle[1]:
        return None
    calls, count = middle
    return (after - calls) / (finished - count)


class _ProduceThread:
    """Produces the workload beside the progress loop, so a paced run shows progress too; or,
    for a backlog, all of it at once before the system starts (``all_now``)."""

    def __init__(self, bootstrap: str, topic: str, workload: Workload, options: RunOptions):
        self._args = (bootstrap, topic, workload)
        self._rate = options.produce_rate
        self._result: Produced | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="produce", daemon=True)

    def all_now(self) -> None:
        self._result = produce_workload(*self._args)

    def count_from(self, started: float) -> None:
        """Throughput of a backlog counts from ``started`` (the system ready), not from
        when it was produced."""
        assert self._result is not None  # noqa: S101 - only after all_now
        self._result.first = started

    def start(self) -> None:
        if self._result is None:  # not a backlog already produced
            self._thread.start()

    def _run(self) -> None:
        try:
            self._result = produce_workload(*self._args, rate=self._rate)
        except BaseException as exc:  # handed to the main thread by raise_failure()
            self._error = exc

    def raise_failure(self) -> None:
        if self._error is not None:
            raise RuntimeError("producing the workload failed") from self._error

    def wait(self) -> Produced:
        if self._thread.is_alive():
            self._thread.join()
        self.raise_failure()
        assert self._result is not None  # noqa: S101 - set whenever no error was
        return self._result
