"""One summary line per scenario: printed, and appended to .local/fault-report.jsonl."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.faults.checks import SyncCounts

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / ".local" / "fault-report.jsonl"


def summarize(
    scenario: str, *, events: int, counts: SyncCounts, elapsed: float, **notes: Any
) -> dict[str, Any]:
    line: dict[str, Any] = {
        "scenario": scenario,
        "events": events,
        "messages": counts.expected,
        "lost": counts.lost,
        "duplicates": counts.duplicates,
        "order_violations": counts.order_violations,
        # What the workers wrote besides the sync: dead letters, and retry records (each
        # wakes a parked conversation).
        "dlq_records": notes.pop("dlq_records", None),
        "retry_records": notes.pop("retry_records", None),
        # The longest time nothing reached the sandbox while work waited, and the time from
        # the fault's end until every message was there (tests/faults/progress.py).
        "stall_s": notes.pop("stall_s", None),
        "catch_up_s": notes.pop("catch_up_s", None),
        # The same stall per input partition, from the topics (tests/faults/partition_stall.py).
        "partition_stall_s": notes.pop("partition_stall_s", None),
        "extras": counts.extras,
        "elapsed_s": round(elapsed, 1),
        **notes,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    text = " ".join(f"{k}={v}" for k, v in line.items() if k != "at")
    print(f"\nFAULT {text}")
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a") as out:
        out.write(json.dumps(line) + "\n")
    return line
