"""The worker's garbage collector: fewer collections, and none walking what start-up made."""

from __future__ import annotations

import subprocess
import sys

# In a process of its own: freezing the test runner's objects would outlive the test.
_PROBE = """
import gc
from streams.commands.worker import GC_THRESHOLDS, tune_gc
tune_gc()
print(gc.get_threshold() == GC_THRESHOLDS, gc.get_freeze_count())
"""


def test_the_worker_collects_less_often_and_never_walks_what_start_up_made() -> None:
    out = subprocess.run(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert out[0] == "True"
    assert int(out[1]) > 10_000  # the modules imported so far, and all they hold
