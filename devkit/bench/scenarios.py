"""The benchmark's scenarios: which systems run against which sandbox settings and workload.

* ``latency50``: Vitally answers in 50 ms, rate limits far from binding. naive vs
  vitally-sync vs floor vs passthrough. The naive baseline gets a smaller workload of the same shape
  (it needs ~150 ms per event; its events/s does not depend on the workload's size).
* ``latency0``: Vitally answers at once; vitally-sync vs floor (one call and two records per
  event, no sync logic) vs passthrough (the CPU ceiling).
* ``ratelimit``: one tenant with a backlog and a binding limit (``--rate-limit`` requests
  per minute), 50 ms latency; vitally-sync only. Sized to take a little over a minute.
* ``takeover``: 50 ms latency; vitally-sync on events produced while it runs, then on the
  same workload already on the topic when it starts (after an outage, or a partition taken
  over), where every record may have been applied by a predecessor and is looked up first.
* ``sparse``: 50 ms latency for Vitally and for Unthread; vitally-sync on the latency50
  workload as is (the baseline), then on the same workload as sparse webhooks (ids only),
  which it fills in from the Unthread sandbox, where each tenant has its people and
  conversations and to which it is connected with its Unthread key.
  ``--sparse-conversations`` conversations (fewer than latency50, to keep it short).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, replace

from unthread_sandbox.process import UnthreadSandboxHandle
from unthread_sandbox.process import run_sandbox as run_unthread_sandbox
from vitally_sandbox.process import run_sandbox

from bench.against import Checkout
from bench.runner import Result, RunOptions, run_system
from bench.systems import (
    FloorSystem,
    NaiveSystem,
    PassthroughSystem,
    System,
    SystemName,
    VitallySyncSystem,
)
from bench.workload import WorkloadConfig

# Far above anything a run can send: the limit is there (headers and all) but never binds.
NOT_BINDING = 10_000_000
SCENARIOS = ("latency50", "latency0", "ratelimit", "takeover", "sparse")


@dataclass(frozen=True)
class Sizes:
    # The workload's own defaults: one place for them.
    tenants: int = WorkloadConfig.tenants
    conversations: int = WorkloadConfig.conversations
    messages: int = WorkloadConfig.messages
    naive_conversations: int = 16
    latency0_conversations: int = 400
    ratelimit_conversations: int = 70
    rate_limit: int = 600
    sparse_conversations: int = 200
    seed: int = WorkloadConfig.seed


@dataclass(frozen=True)
class Run:
    system: SystemName
    workload: WorkloadConfig
    backlog: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    latency_ms: float
    runs: tuple[Run, ...]
    org_rate_limit: int | None = None

    @property
    def needs_unthread(self) -> bool:
        return any(run.workload.sparse for run in self.runs)


def build(name: str, sizes: Sizes) -> Scenario:
    base = WorkloadConfig(
        tenants=sizes.tenants, conversations=sizes.conversations, messages=sizes.messages,
        seed=sizes.seed,
    )  # fmt: skip
    if name == "latency50":
        naive = replace(base, conversations=sizes.naive_conversations)
        return Scenario(
            name, 50.0,
            (Run("naive", naive), Run("vitally-sync", base), Run("floor", base),
             Run("passthrough", base)),
        )  # fmt: skip
    if name == "latency0":
        bigger = replace(base, conversations=sizes.latency0_conversations)
        return Scenario(
            name, 0.0,
            (Run("vitally-sync", bigger), Run("floor", bigger), Run("passthrough", bigger)),
        )  # fmt: skip
    if name == "ratelimit":
        one = replace(base, tenants=1, conversations=sizes.ratelimit_conversations)
        return Scenario(name, 50.0, (Run("vitally-sync", one),), org_rate_limit=sizes.rate_limit)
    if name == "takeover":
        return Scenario(
            name, 50.0, (Run("vitally-sync", base), Run("vitally-sync", base, backlog=True))
        )
    if name == "sparse":
        full = replace(base, conversations=sizes.sparse_conversations)
        sparse = replace(full, sparse=True)
        return Scenario(name, 50.0, (Run("vitally-sync", full), Run("vitally-sync", sparse)))
    raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")


def systems(
    name: SystemName, worker_env: Mapping[str, str], against: Checkout | None, workers: int = 1
) -> list[System]:
    """What a run of ``name`` runs: with ``against``, vitally-sync twice, back to back, that
    commit's worker first; ``workers`` processes of vitally-sync each time."""
    if name == "naive":
        return [NaiveSystem()]
    if name == "passthrough":
        return [PassthroughSystem()]
    if name == "floor":
        return [FloorSystem()]
    current = VitallySyncSystem(dict(worker_env), workers=workers)
    if against is None:
        return [current]
    return [VitallySyncSystem(dict(worker_env), against, workers), current]


def run_scenario(
    scenario: Scenario,
    options: RunOptions,
    worker_env: Mapping[str, str] | None = None,
    against: Checkout | None = None,
    workers: int = 1,
) -> list[Result]:
    """Run each system in turn against one sandbox with the scenario's latency.

    ``worker_env`` is added to vitally-sync's environment (``--worker-env``), for trying
    settings; the figures in BENCHMARKS.md use none. ``against``: another commit's checkout,
    whose worker runs right before this one's in every vitally-sync run. ``workers``:
    vitally-sync's worker processes (``--workers``).
    """
    options = replace(options, org_rate_limit=scenario.org_rate_limit)
    results: list[Result] = []
    with ExitStack() as stack:
        sandbox = stack.enter_context(
            run_sandbox(latency_ms=scenario.latency_ms, rate_limit=NOT_BINDING)
        )
        unthread: UnthreadSandboxHandle | None = None
        if scenario.needs_unthread:
            unthread = stack.enter_context(
                run_unthread_sandbox(latency_ms=scenario.latency_ms, rate_limit=NOT_BINDING)
            )
        for run in scenario.runs:
            for chosen in systems(run.system, worker_env or {}, against, workers):
                results.append(
                    run_system(
                        scenario.name,
                        chosen,
                        run.workload,
                        sandbox,
                        options,
                        backlog=run.backlog,
                        unthread=unthread,
                    )  # fmt: skip
                )
    return results
