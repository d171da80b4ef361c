"""``python -m bench.audit_start``: a worker's start time and peak memory with a large audit topic.

Fills a fresh audit topic with ``--records`` synthetic audit records (20 tenants, 8 input
partitions, a mix of outcomes), and the audit summary topic with what workers writing them
would have published (``integrations.audit_summary.SummaryWriter`` over the same records,
publishing every 100,000). Then starts the worker (``--worker``, e.g. another checkout's
``.venv/bin/vitally-sync``, to compare versions) on those topics and reports the seconds until
its per-tenant counts are loaded (the log line ``audit counts loaded`` of versions that read
the audit topic, ``audit summary loaded`` of those that read the summary) and its peak RSS
(VmHWM). The topics are deleted at the end. Kafka: KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from cryptography.fernet import Fernet
from devtools.processes import free_port

from integrations.audit_summary import SummaryWriter
from streams.topics import SUMMARY_CONFIG

LOADED = ("audit counts loaded", "audit summary loaded")
PARTITIONS = 8
OUTCOMES = [("synced", None)] * 8 + [
    ("skipped", "private_note"), ("failed", "vitally_rejected"),
    ("parked", "vitally_unavailable"), ("duplicate", "already_synced"),
]  # fmt: skip


def records(count: int, start_ms: int) -> Iterator[dict[str, Any]]:
    pick = random.Random(42)  # noqa: S311 - a reproducible workload, not security
    for n in range(count):
        outcome, reason = pick.choice(OUTCOMES)
        yield {
            "schemaVersion": 1, "tenantId": f"T{n % 20:02d}", "conversationId": f"C{n % 50_000}",
            "messageId": f"M{n}", "event": "message_created", "eventId": None,
            "source": {"topic": "in", "partition": n % PARTITIONS, "offset": n},
            "outcome": outcome, "reason": reason, "detail": None,
            "vitallyConversationId": None, "vitallyMessageId": None, "apiCalls": 1,
            "attempts": 1, "eventTimestamp": start_ms + n, "processedAt": start_ms + n,
        }  # fmt: skip


def fill(bootstrap: str, audit: str, summary: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50})
    start_ms = int(time.time() * 1000) - count

    def send(topic: str, key: bytes, value: bytes) -> None:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                return
            except BufferError:
                producer.poll(0.1)

    async def publish(key: bytes, value: bytes) -> None:
        send(summary, key, value)

    async def count_and_publish() -> None:
        writer = SummaryWriter(publish, now_ms=lambda: int(time.time() * 1000))
        writer.begin(range(PARTITIONS))
        for partition in range(PARTITIONS):
            writer.adopt(partition, {})
        for n, record in enumerate(records(count, start_ms), start=1):
            send(audit, record["conversationId"].encode(), json.dumps(record).encode())
            writer.add(record)
            if n % 100_000 == 0:
                await writer.publish()
                producer.poll(0)
        await writer.publish()

    asyncio.run(count_and_publish())
    producer.flush()


def measure(worker: str, env: dict[str, str], timeout_s: float) -> tuple[float | None, int]:
    """Seconds from the worker's start to its counts being loaded, and its peak RSS (MiB)."""
    started = time.monotonic()
    proc = subprocess.Popen(  # noqa: S603 - the worker the operator named
        [worker, "worker", "-l", "info"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    loaded = None
    try:
        assert proc.stdout is not None  # noqa: S101 - piped above
        for line in proc.stdout:
            if any(marker in line for marker in LOADED):
                loaded = time.monotonic() - started
                break
            if time.monotonic() - started > timeout_s:
                break
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak = next(int(r.split()[1]) // 1024 for r in status.splitlines() if r.startswith("VmHWM"))
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return loaded, peak


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_start", description=__doc__)
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--worker", default="vitally-sync", help="the vitally-sync to start")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait")
    ns = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    name = f"benchstart-{uuid.uuid4().hex[:8]}"
    audit, summary = f"{name}.audit", f"{name}.audit-summary"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([
        NewTopic(audit, PARTITIONS, 1), NewTopic(summary, 1, 1, config=SUMMARY_CONFIG)
    ]).values():  # fmt: skip
        future.result()
    try:
        filled = time.monotonic()
        fill(bootstrap, audit, summary, ns.records)
        print(f"{ns.records} audit records in {time.monotonic() - filled:.0f} s", flush=True)
        env = {
            **os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "APP_ID": name,
            "INPUT_TOPIC": f"{name}.in", "AUDIT_TOPIC": audit, "DLQ_TOPIC": f"{name}.dlq",
            "INTEGRATIONS_TOPIC": f"{name}.integrations", "RETRY_TOPIC": f"{name}.retry",
            "AUDIT_SUMMARY_TOPIC": summary, "SOURCE_WALKS_TOPIC": f"{name}.source-walks",
            "ADMIN_API_TOKEN": uuid.uuid4().hex,
            "SECRETS_KEY": Fernet.generate_key().decode(), "WEB_PORT": str(free_port()),
            "WORKER_ID": name, "TOPIC_REPLICATION_FACTOR": "1",
            "DATA_DIR": f"/tmp/{name}", "LOG_FORMAT": "json",  # noqa: S108 - a scratch dir
        }  # fmt: skip
        loaded, peak = measure(ns.worker, env, ns.timeout)
        shown = f"{loaded:.1f} s" if loaded is not None else "not loaded"
        print(f"counts loaded after {shown}, peak RSS {peak} MiB")
        return 0 if loaded is not None else 1
    finally:
        topics = [t for t in admin.list_topics(timeout=30).topics if t.startswith(name)]
        for future in admin.delete_topics(topics).values():
            future.result()


if __name__ == "__main__":
    sys.exit(main())
