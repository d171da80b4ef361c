"""The workers of one scenario, and a supervisor's job: start, kill, stop, restart the dead.

A real deployment runs its workers under a supervisor (Kubernetes, systemd) that restarts a
process that exits; :meth:`Crew.revive` does that for the test and counts how often. Like a
platform's dyno or pod name, each worker has a ``WORKER_ID`` (its Kafka static membership)
that its replacement takes over: ``w0``, ``w1``, ... in the order they were first started.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tests.fixtures.worker import Deployment, WorkerProcess

LOG_TAIL_LINES = 40


@dataclass
class Crew:
    deployed: Deployment
    env: dict[str, str] = field(default_factory=dict)
    active: list[WorkerProcess] = field(default_factory=list)
    kills: int = 0
    stops: int = 0
    revived: int = 0
    exits: list[int] = field(default_factory=list)
    stop_codes: list[int] = field(default_factory=list)  # exit codes after a SIGTERM
    ids: dict[int, str] = field(default_factory=dict)  # id(WorkerProcess) -> WORKER_ID
    started: int = 0

    def start(self, *, wait: bool = True, worker_id: str | None = None) -> WorkerProcess:
        if worker_id is None:
            worker_id = f"w{self.started}"
            self.started += 1
        worker = self.deployed.start_worker(wait=wait, **{**self.env, "WORKER_ID": worker_id})
        self.ids[id(worker)] = worker_id
        self.active.append(worker)
        return worker

    def worker_id(self, worker: WorkerProcess) -> str:
        return self.ids[id(worker)]

    def kill(self, worker: WorkerProcess | None = None, *, restart: bool = True) -> None:
        """SIGKILL one worker (the oldest by default), and start its replacement (the same
        WORKER_ID) at once."""
        worker = worker or self.active[0]
        worker.kill()
        self.active.remove(worker)
        self.kills += 1
        if restart:
            self.start(wait=False, worker_id=self.worker_id(worker))

    def stop(self, worker: WorkerProcess | None = None) -> int:
        """SIGTERM one worker (the newest by default): a graceful scale-down."""
        worker = worker or self.active[-1]
        self.active.remove(worker)
        self.stops += 1
        code = worker.stop()
        self.stop_codes.append(code)
        return code

    def restart(self, worker: WorkerProcess) -> tuple[int, WorkerProcess]:
        """A deploy's step: SIGTERM one worker, then start its replacement (same WORKER_ID)."""
        code = self.stop(worker)
        return code, self.start(wait=False, worker_id=self.worker_id(worker))

    def stop_all(self) -> None:
        while self.active:
            self.stop()

    def revive(self) -> None:
        """Restart every worker that exited without being asked to."""
        for worker in [w for w in self.active if w.process.poll() is not None]:
            self.exits.append(worker.process.returncode)
            self.active.remove(worker)
            self.revived += 1
            self.start(wait=False, worker_id=self.worker_id(worker))

    def log_tails(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(
            f"--- {w.log_path.name} (exit {w.process.poll()}) ---\n{w.log_tail(lines)}"
            for w in self.deployed.workers
        )

    def save_logs(self, into: Path) -> None:
        """Keep the workers' logs (the deployment's directory goes when the test ends)."""
        shutil.rmtree(into, ignore_errors=True)
        into.mkdir(parents=True)
        for worker in self.deployed.workers:
            if worker.log_path.exists():
                shutil.copy(worker.log_path, into / worker.log_path.name)
