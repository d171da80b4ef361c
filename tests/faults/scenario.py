"""One fault scenario's run: its workload, workers and clock, and the final measurement.

Every scenario ends the same way: wait until the sandbox holds every expected message and the
worker has committed every input and retry record (so no redelivery is still on its way),
measure, write the summary line, and assert lost == duplicates == order violations == 0
(and no extras), printing the workers' log tails when not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.faults.checks import SyncCounts, wait_until_synced
from tests.faults.crew import Crew
from tests.faults.diagnose import diagnose
from tests.faults.feeder import Feeder
from tests.faults.offsets import caught_up, written
from tests.faults.partition_stall import partition_stall
from tests.faults.progress import Progress
from tests.faults.report import REPORT, summarize
from tests.faults.workload import Workload
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment

# Parked events come back within seconds, not the production minutes.
FAST_PARKING = {
    "PARK_MIN_DELAY_SECONDS": "1",
    "PARK_TRANSIENT_MAX_DELAY_SECONDS": "2",
    "PARK_SCAN_INTERVAL_SECONDS": "0.5",
}

# The group's timeouts are the service's defaults (KAFKA_SESSION_TIMEOUT_SECONDS and the
# others): what a failover costs here is what it costs in production.


@dataclass
class Scenario:
    name: str
    deployed: Deployment
    sandbox: SandboxHandle
    workload: Workload
    env: dict[str, str] = field(default_factory=dict)
    extra_events: int = 0
    # False: the production park delays (the outage and 429 scenarios measure them).
    fast_parking: bool = True
    crew: Crew = field(init=False)
    progress: Progress | None = field(default=None, init=False)
    started: float = field(default_factory=time.monotonic)
    timeline: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        parking = FAST_PARKING if self.fast_parking else {}
        self.crew = Crew(self.deployed, {**parking, **self.env})

    def mark(self, what: str) -> None:
        """Note a step of the run, with its time since the start (printed and reported)."""
        entry = f"{time.monotonic() - self.started:.1f}s {what}"
        self.timeline.append(entry)
        print(f"[{self.name}] {entry}", flush=True)

    def connect(self, **kwargs: Any) -> None:
        self.workload.setup(self.sandbox, self.deployed, **kwargs)
        self.started = time.monotonic()

    def start_fed(self, *, latency_ms: float, rate: float, workers: int = 1) -> Feeder:
        """The usual start: the sandbox answering after ``latency_ms``, the tenants
        connected, ``workers`` workers running and the workload being produced at ``rate``."""
        self.sandbox.set_faults(latency_ms=latency_ms)
        self.connect()
        for started in [self.crew.start(wait=False) for _ in range(workers)]:
            started.wait_ready()
        feeder = self.feeder(rate=rate)
        self.watch(lambda: feeder.produced)
        return feeder

    def watch(self, produced: Callable[[], int]) -> None:
        """Follow the flow into the sandbox (stall, catch-up) from now on."""
        expected = sum(len(i) for c in self.workload.expected().values() for i in c.values())
        self.progress = Progress(
            self.sandbox.base_url, list(self.workload.expected()), expected, produced
        ).start()

    def fault_over(self, what: str) -> None:
        """The fault has ended: the catch-up is timed from here."""
        self.mark(what)
        if self.progress is not None:
            self.progress.fault_over()

    def all_produced(self, feeder: Feeder) -> None:
        feeder.wait()
        self.mark("all produced")

    def feeder(self, rate: float, records: list[tuple[bytes | None, bytes | None]] | None = None
               ) -> Feeder:  # fmt: skip
        raw = (
            records if records is not None else [(r.key, r.value) for r in self.workload.records()]
        )
        return Feeder(self.deployed.bootstrap, self.deployed.input_topic, raw, rate).start()

    def messages_synced(self) -> int:
        return sum(self.sandbox.stats(s)["messages"] for s in self.workload.expected())

    def wait_messages(self, fraction: float, timeout: float = 120.0) -> None:
        """Block until the sandbox holds ``fraction`` of the expected messages (revives the
        dead meanwhile), so a fault lands while the worker is busy."""
        target = fraction * sum(
            len(i) for c in self.workload.expected().values() for i in c.values()
        )
        deadline = time.monotonic() + timeout
        while self.messages_synced() < target:
            self.revive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {fraction:.0%} not synced in {timeout}s\n"
                                   f"{self.crew.log_tails()}")  # fmt: skip
            time.sleep(0.2)
        self.mark(f"{fraction:.0%} of the messages are in the sandbox")

    def revive(self) -> None:
        before = self.crew.revived
        self.crew.revive()
        if self.crew.revived > before:
            self.mark(
                f"restarted {self.crew.revived - before} dead worker(s), exits {self.crew.exits}"
            )

    def settled(self) -> bool:
        d = self.deployed
        return caught_up(d.bootstrap, d.name, d.input_topic, d.retry_topic)

    def synced(self, timeout: float = 150.0) -> tuple[SyncCounts, bool]:
        """Wait for the end state; return the counts and whether everything was committed."""
        counts = wait_until_synced(
            self.sandbox, self.workload.expected(), timeout=timeout, settled=self.settled,
            on_poll=self.revive,
        )  # fmt: skip
        return counts, self.settled()

    def check(self, counts: SyncCounts, settled: bool) -> None:
        detail = f"{self.name}: {counts.describe()}\n{self.crew.log_tails()}"
        assert counts.lost == 0, detail
        assert counts.duplicates == 0, detail
        assert counts.order_violations == 0, detail
        assert counts.extras == 0, detail
        assert settled, f"{self.name}: the worker never committed everything\n{detail}"

    def written(self) -> dict[str, int]:
        """What the workers wrote besides Vitally: DLQ copies and retry records (wake-ups of
        parked conversations), in all, from the topics' end offsets."""
        d = self.deployed
        return {
            "dlq_records": written(d.bootstrap, d.dlq_topic),
            "retry_records": written(d.bootstrap, d.retry_topic),
        }

    def finish(self, timeout: float = 150.0, **notes: Any) -> SyncCounts:
        """Wait, write the summary line, assert the counts are 0."""
        self.mark("faults done, waiting for the end state")
        counts, settled = self.synced(timeout)
        self.mark("end state")
        if self.progress is not None:
            self.progress.stop()
            waited, partition = partition_stall(self.deployed, self.workload.events)
            notes = {
                **self.progress.figures(self.started),
                "partition_stall_s": round(waited, 1),
                "partition_stall_partition": partition,
                **notes,
            }
        notes = {**self.written(), **notes}
        logs = REPORT.parent / "fault-logs" / self.name
        self.crew.save_logs(logs)
        if counts.lost or counts.duplicate_ids:
            traced = (*counts.lost_ids, *counts.duplicate_ids)
            print(diagnose(self.deployed, traced, logs)[:4000])
        summarize(
            self.name, events=self.workload.events + self.extra_events, counts=counts,
            elapsed=time.monotonic() - self.started, settled=settled, kills=self.crew.kills,
            stops=self.crew.stops, stop_exits=self.crew.stop_codes, revived=self.crew.revived,
            worker_exits=self.crew.exits,
            timeline=self.timeline, **notes,
        )  # fmt: skip
        self.check(counts, settled)
        return counts
