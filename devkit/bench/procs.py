"""The systems under test run as subprocesses; this starts, stops and weighs them.

Peak memory is the largest sum of resident set sizes over the process and all its
descendants, sampled a few times a second from /proc (Linux), so it covers whatever the
system forks without needing a dependency. CPU time is the same tree's user + system time,
also from /proc: on a shared VM whose events/s vary by a third between runs, the CPU a system
spends per event is the steadier figure.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from devtools.processes import stop_process

SAMPLE_INTERVAL_S = 0.2
PROC = Path("/proc")


class Running(Protocol):
    """What the benchmark needs of a running system: one process or several."""

    name: str

    @property
    def memory(self) -> RssSampler: ...

    def cpu_seconds(self) -> float: ...

    def check_alive(self) -> None: ...

    def stop(self, timeout: float = 30.0) -> None: ...

    def log_tail(self, lines: int = 40) -> str: ...


class Service:
    """One system process, its output going to a log file."""

    def __init__(
        self, name: str, command: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path
    ) -> None:
        self.name = name
        self.log_path = log
        with log.open("ab") as out:
            # A fixed argv of our own interpreter or console scripts, no shell.
            self.process = subprocess.Popen(  # noqa: S603
                list(command), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT
            )
        self.memory = RssSampler(self.process.pid)

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.process.pid)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited ({self.process.returncode}):\n{self.log_tail()}"
            )

    def stop(self, timeout: float = 30.0) -> None:
        self.memory.stop()
        stop_process(self.process, timeout)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class ServiceGroup:
    """Several processes of one system (worker processes sharing a consumer group), weighed
    together: CPU and peak memory are their sums, and one that exits fails the run."""

    def __init__(self, name: str, services: Sequence[Service]) -> None:
        self.name = name
        self._services = list(services)
        for service in self._services:
            service.memory.stop()
        self._memory = RssSampler(*(s.process.pid for s in self._services))

    @property
    def memory(self) -> RssSampler:
        return self._memory

    def cpu_seconds(self) -> float:
        return sum(service.cpu_seconds() for service in self._services)

    def check_alive(self) -> None:
        for service in self._services:
            service.check_alive()

    def stop(self, timeout: float = 30.0) -> None:
        self._memory.stop()
        for service in self._services:
            service.stop(timeout)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(f"[{s.log_path.name}]\n{s.log_tail(lines)}" for s in self._services)


class RssSampler:
    """Samples the process trees' total RSS in a background thread; ``peak_bytes`` is the
    largest sum seen."""

    def __init__(self, *pids: int, interval: float = SAMPLE_INTERVAL_S) -> None:
        self._pids = pids
        self._interval = interval
        self._stop = threading.Event()
        self.peak_bytes = 0
        self._thread = threading.Thread(target=self._run, name=f"rss-{pids[0]}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(tree_rss_bytes(pid) for pid in self._pids)
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self._interval)


def tree_rss_bytes(root: int) -> int:
    return sum(rss_bytes(pid) for pid in descendants(root) | {root})


def rss_bytes(pid: int) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass  # gone between listing and reading: it holds no memory any more
    return 0


def tree_cpu_seconds(root: int) -> float:
    return sum(cpu_seconds(pid) for pid in descendants(root) | {root})


def cpu_seconds(pid: int) -> float:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        # Fields after the command name (which may hold spaces): utime, stime are 14 and 15.
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0  # gone between listing and reading


def descendants(root: int) -> set[int]:
    found: set[int] = set()
    pending = [root]
    while pending:
        pid = pending.pop()
        for child in _children(pid):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        tasks = os.listdir(PROC / str(pid) / "task")
    except OSError:
        return children
    for task in tasks:
        try:
            text = (PROC / str(pid) / "task" / task / "children").read_text()
        except OSError:
            continue
        children.extend(int(c) for c in text.split())
    return children
