"""The benchmark's CPU accounting reads real /proc figures, for a process and its children."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from bench.procs import cpu_seconds, tree_cpu_seconds

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
