"""The benchmark's CPU accounting reads real /proc figures, for a process and its children."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bench.procs import Service, ServiceGroup, cpu_seconds, rss_bytes, tree_cpu_seconds

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

BURN_AND_WAIT = """
import sys, time
end = time.process_time() + 0.4
while time.process_time() < end:
    pass
print("burnt", flush=True)
sys.stdin.read()
"""


def test_cpu_seconds_counts_this_processs_own_work() -> None:
    before = cpu_seconds(os.getpid())
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.2


def test_tree_cpu_seconds_includes_the_children_and_a_missing_process_counts_nothing() -> None:
    # A parent that does nothing, and a child that burns 0.4 s of CPU, then waits.
    parent = subprocess.Popen(  # noqa: S603  # our own interpreter, fixed argv
        [
            sys.executable,
            "-c",
            f"import subprocess, sys; subprocess.run([sys.executable, '-c', {BURN_AND_WAIT!r}])",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline() == b"burnt\n"
        assert cpu_seconds(parent.pid) < 0.3
        assert tree_cpu_seconds(parent.pid) >= 0.35
    finally:
        parent.communicate(b"", timeout=10)
    assert cpu_seconds(parent.pid) == 0.0


BURN_THEN_SLEEP = """
import time
from pathlib import Path
end = time.process_time() + 0.3
while time.process_time() < end:
    pass
print("burnt", flush=True)
time.sleep(30)
"""


def test_a_service_group_sums_its_processes_and_fails_when_one_exits(tmp_path: Path) -> None:
    services = [
        Service(f"w{i}", [sys.executable, "-c", BURN_THEN_SLEEP], env=os.environ, cwd=tmp_path,
                log=tmp_path / f"w{i}.log")
        for i in range(2)
    ]  # fmt: skip
    group = ServiceGroup("workers", services)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(
            "burnt" in (tmp_path / f"w{i}.log").read_text() for i in range(2)
        ):
            time.sleep(0.05)
        assert group.cpu_seconds() >= 0.5  # both processes' 0.3 s, not one's
        time.sleep(0.5)  # the sampler has seen both
        assert group.memory.peak_bytes > max(rss_bytes(s.process.pid) for s in services)
        group.check_alive()
        services[1].process.kill()
        services[1].process.wait(timeout=10)
        with pytest.raises(RuntimeError, match="w1 exited"):
            group.check_alive()
    finally:
        group.stop(timeout=5)
    assert all(s.process.poll() is not None for s in services)
