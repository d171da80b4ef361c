"""The longest wait of one input partition, read afterwards from the topics themselves.

The sandbox-side stall (tests/faults/progress.py) is global: while one worker's partitions
wait for the group to notice it died, the others' keep flowing, and the sandbox does not say
which partition a message came from. Each input record's timestamp says when it was produced;
its first final audit record (``processedAt``, written right after its Vitally call) says
when it was done. Per partition, taken in the order they were done, a record waited with
nothing of its partition being done from ``max(its production, the previous completion)``
until its own completion; the longest such wait is the partition stall.
"""

from __future__ import annotations

import json
from collections import defaultdict

from schemas.audit import is_result
from tests.fixtures.kafka import consume_all
from tests.fixtures.worker import Deployment

READ_TIMEOUT_S = 30.0


def partition_stall(deployed: Deployment, events: int) -> tuple[float, int | None]:
    """(seconds, partition) of the longest wait; (0.0, None) when nothing could be read."""
    produced = {
        (r.partition, r.offset): r.timestamp_ms
        for r in consume_all(deployed.bootstrap, deployed.input_topic, READ_TIMEOUT_S)
    }
    done: dict[tuple[int, int], int] = {}
    audit = consume_all(
        deployed.bootstrap, deployed.audit_topic, READ_TIMEOUT_S, expected_count=events
    )
    for record in audit:
        body = json.loads(record.value or b"{}")
        source = body.get("source") or {}
        if (
            not is_result(body.get("outcome"), body.get("reason"))
            or source.get("topic") != deployed.input_topic
        ):
            continue
        key = (int(source["partition"]), int(source["offset"]))
        at = int(body["processedAt"])
        done[key] = min(done.get(key, at), at)
    by_partition: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for key, finished in done.items():
        if key in produced:
            by_partition[key[0]].append((finished, produced[key]))
    worst, where = 0.0, None
    for partition, pairs in by_partition.items():
        previous: int | None = None
        for finished, created in sorted(pairs):
            waited = (finished - max(created, previous or created)) / 1000
            if waited > worst:
                worst, where = waited, partition
            previous = finished
    return worst, where
