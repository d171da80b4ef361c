"""``python -m bench.import_live``: live events while an import runs, and a bus that loses 10%.

One worker, the Vitally sandbox and the Unthread sandbox (50 ms each), three tenants, each with
its own Vitally org at Vitally's 1,000 requests a minute:

* ``live`` and ``both`` produce live webhooks (whole events, a new conversation each) at
  ``--live-rate`` events/s each, all along;
* phase ``alone`` (``--phase-seconds``): only that;
* phase ``import``: ``both`` is connected again with ``importSince`` and imports
  ``--import-conversations`` conversations (each with ``--replies`` replies) from Unthread
  while its own and ``live``'s live events go on; the phase lasts until the import is in
  Vitally (at most ``--import-timeout``);
* phase ``lossy``: ``lossy`` (reconciling every 10 s) gets conversations and replies in
  Unthread at ``--live-rate`` events/s for ``--phase-seconds``, whose webhooks a bus that
  loses 10% at random (seed 21) delivers; then the time until its Vitally org holds every
  message Unthread has, and what reconciling cost.

Live latency is the audit record's ``processedAt`` minus the event's ``eventTimestamp`` (its
produce time), per phase and tenant, p50/p99. ``--against COMMIT`` runs that commit's worker
first, the same way, for the figures before a change.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from demo.events import Record, envelope
from devtools.processes import wait_for_http
from unthread_sandbox.process import UnthreadSandboxHandle
from unthread_sandbox.process import run_sandbox as run_unthread_sandbox
from vitally_sandbox.process import SandboxHandle, run_sandbox

from bench.against import Checkout, checkout
from bench.checks import percentile
from bench.kafka_io import AuditReader, create_topics, wait_group_assigned
from bench.procs import Service
from bench.systems import Deployment, VitallySyncSystem
from schemas.audit import is_result

JANE = {"id": "u-jane", "name": "Jane Doe", "email": "jane@customer.example", "slackId": "U0JANE"}
SAM = {"id": "u-sam", "name": "Sam Agent", "email": "sam@vendor.example", "slackId": "U0SAM"}
ADMIN = "ops@vendor.example"
VITALLY_LIMIT = 1000  # Vitally's documented budget per minute
RECONCILE_S = 10
LOSS = 0.10
READY_S = 120.0
Percentiles = tuple[int, float | None, float | None]  # events, p50 ms, p99 ms


@dataclass(frozen=True)
class Options:
    bootstrap: str
    live_rate: float
    phase_seconds: float
    import_conversations: int
    replies: int
    import_timeout: float
    partitions: int
    worker_env: dict[str, str]


@dataclass
class Audit:
    """Every audit record of the run, read in a thread as they come."""

    records: list[dict[str, Any]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def follow(self, bootstrap: str, topic: str) -> threading.Thread:
        def read() -> None:
            reader = AuditReader(bootstrap, topic)
            try:
                while not self.stop.is_set():
                    self.records.extend(reader.poll(0.5))
            finally:
                reader.close()

        thread = threading.Thread(target=read, daemon=True)
        thread.start()
        return thread


@dataclass
class Live:
    """Live webhooks at a steady rate, one new conversation each, for some tenants."""

    producer: Producer
    topic: str
    rate: float
    tenants: list[str]
    produced: dict[str, str] = field(default_factory=dict)  # conversation id -> phase
    phase: str = "alone"
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n, began = 0, time.time()
        while not self.stop.is_set():
            for tenant in self.tenants:
                cid = f"{tenant}-live-{n:05d}"
                at = datetime.now(UTC)
                data = conversation(cid, at) | {"submitterUser": JANE}
                data["initialMessage"] = data["initialMessage"] | {"user": JANE}
                event = envelope(tenant, "conversation_created", data, at=at)
                self.producer.produce(self.topic, Record.of(cid, event).value, cid.encode())
                self.produced[cid] = self.phase
            self.producer.poll(0)
            n += 1
            time.sleep(max(0.0, began + n / self.rate - time.time()))


def conversation(cid: str, at: datetime) -> dict[str, Any]:
    return {
        "id": cid, "title": f"Ticket {cid}", "status": "open", "submitterUserId": JANE["id"],
        "assignedToUserId": SAM["id"], "createdAt": at.isoformat(), "updatedAt": at.isoformat(),
        "initialMessage": {"id": f"{cid}-m0", "ts": f"{at.timestamp():.6f}", "text": "It broke",
                           "userId": JANE["slackId"], "timestamp": at.isoformat()},
    }  # fmt: skip


def reply(cid: str, n: int, at: datetime) -> dict[str, Any]:
    return {"id": f"{cid}-m{n}", "ts": f"{at.timestamp():.6f}", "text": f"reply {n}",
            "userId": JANE["slackId"], "timestamp": at.isoformat()}  # fmt: skip


class Run:
    """One system through the three phases."""

    def __init__(
        self, options: Options, code: Checkout | None, vitally: SandboxHandle,
        unthread: UnthreadSandboxHandle, workdir: Path,
    ) -> None:  # fmt: skip
        self.options = options
        self.name = f"b{secrets.token_hex(3)}-importlive"
        self.tenants = {role: f"{self.name}-{role}" for role in ("live", "both", "lossy")}
        self.deployment = Deployment(
            self.name, options.bootstrap, vitally.base_url, workdir, options.partitions,
            unthread.api_url,
        )  # fmt: skip
        self.system = VitallySyncSystem(options.worker_env, code)
        self.env = self.system.env(self.deployment)
        self.vitally, self.unthread = vitally, unthread
        self.audit = Audit()
        # Java's partitioner, the worker's INPUT_PARTITIONER default: the walks' events must
        # land on the partition of the conversation's webhooks.
        self.producer = Producer({"bootstrap.servers": options.bootstrap, "linger.ms": 5,
                                  "partitioner": "murmur2_random"})  # fmt: skip
        self.label = self.system.label

    def connect(self, role: str, *extra: str) -> None:
        tenant = self.tenants[role]
        command = [
            "vitally-sync", "connect", "--tenant", tenant, "--subdomain", tenant,
            "--api-key", f"{tenant}-token", "--default-admin-email", ADMIN, *extra,
        ]  # fmt: skip
        subprocess.run(  # noqa: S603 - our own console script, fixed argv
            command, env=self.env, cwd=self.system.root, capture_output=True, text=True,
            timeout=120, check=True,
        )  # fmt: skip

    def setup(self) -> None:
        past = datetime.now(UTC) - timedelta(days=20)
        for role, tenant in self.tenants.items():
            self.vitally.add_org(
                tenant, tokens=[f"{tenant}-token"], rate_limit=VITALLY_LIMIT,
                users=[{"email": JANE["email"], "name": JANE["name"]}],
                admins=[{"email": SAM["email"], "name": SAM["name"], "licenseStatus": "active"},
                        {"email": ADMIN, "name": "Ops", "licenseStatus": "active"}],
            )  # fmt: skip
            history = []
            if role == "both":
                history = [conversation(f"{tenant}-old-{n:04d}", past + timedelta(minutes=n))
                           for n in range(self.options.import_conversations)]  # fmt: skip
            self.unthread.add_tenant(tenant, keys=[f"{tenant}-ukey"], users=[JANE, SAM],
                                     conversations=history)  # fmt: skip
            for old in history:
                for n in range(1, self.options.replies + 1):
                    at = datetime.fromisoformat(old["createdAt"]) + timedelta(seconds=n)
                    self.unthread.post_message(tenant, old["id"], **reply(old["id"], n, at))
        self.connect("live")
        self.connect("both", "--unthread-api-key", f"{self.tenants['both']}-ukey")
        self.connect("lossy", "--unthread-api-key", f"{self.tenants['lossy']}-ukey",
                     "--reconcile-interval-seconds", str(RECONCILE_S))  # fmt: skip

    def start(self) -> Service:
        create_topics(self.options.bootstrap, [self.deployment.input_topic],
                      self.options.partitions)  # fmt: skip
        self.setup()
        service = Service(
            "vitally-sync", self.system.command(), env=self.env,
            cwd=self.system.root, log=self.deployment.workdir / f"{self.name}.log",
        )  # fmt: skip
        if not wait_for_http(f"http://127.0.0.1:{self.env['WEB_PORT']}/ready", READY_S,
                             check=service.check_alive):  # fmt: skip
            raise TimeoutError(f"worker not ready:\n{service.log_tail()}")
        wait_group_assigned(self.options.bootstrap, self.env["APP_ID"],
                            self.deployment.input_topic, self.options.partitions,
                            timeout_s=READY_S)  # fmt: skip
        time.sleep(3.0)  # the worker's own take of the assignment (see bench.runner)
        return service

    def imported(self) -> int:
        tenant = self.tenants["both"]
        stored = self.vitally.conversations(tenant)
        old = [c for c in stored if "-old-" in c["externalId"]]
        return sum(len(c["messages"]) for c in old)

    def lossy_phase(self, live: Live) -> dict[str, Any]:
        """C's conversations and replies in Unthread, 90% of their webhooks on the bus; then
        how long until Vitally holds them all, and what reconciling cost."""
        tenant, rng = self.tenants["lossy"], random.Random(21)  # noqa: S311 - a sample
        expected: set[str] = set()
        sent = lost = n = 0
        before = self.unthread.stats(tenant)["requests"]
        ends, began = time.time() + self.options.phase_seconds, time.time()
        while time.time() < ends:
            cid, at = f"{tenant}-c{n // 4:04d}", datetime.now(UTC)
            if n % 4 == 0:
                data = conversation(cid, at)
                self.unthread.add_conversation(tenant, **data)
                payload = data | {"submitterUser": JANE}
                payload["initialMessage"] = payload["initialMessage"] | {"user": JANE}
                event = envelope(tenant, "conversation_created", payload, at=at)
                expected.add(f"{cid}-m0")
            else:
                message = reply(cid, n % 4, at)
                self.unthread.post_message(tenant, cid, **message)
                data = message | {"conversationId": cid, "user": JANE}
                event = envelope(tenant, "message_created", data, at=at)
                expected.add(message["id"])
            if rng.random() >= LOSS:
                self.producer.produce(self.deployment.input_topic, Record.of(cid, event).value,
                                      cid.encode())  # fmt: skip
            else:
                lost += 1
            sent += 1
            n += 1
            time.sleep(max(0.0, began + n / self.options.live_rate - time.time()))
        self.producer.flush(30)
        last = time.time()
        matched = self._wait_matched(tenant, expected, 60 + 3 * RECONCILE_S)
        mine = [a for a in self.audit.records if a.get("tenantId") == tenant]
        reconciled = [a for a in mine if a.get("origin") == "reconcile"]
        walked = {a["conversationId"] for a in reconciled}
        return {
            "events": sent, "lost": lost, "conversations": (n + 3) // 4,
            "matched_s": None if matched is None else matched - last,
            "reconciled": len(walked),
            "repaired": sum(1 for a in reconciled if a.get("outcome") == "synced"),
            "unthread_per_conversation": (self.unthread.stats(tenant)["requests"] - before)
            / max(len(walked), 1),
            "vitally_per_conversation": sum(a.get("apiCalls", 0) for a in reconciled)
            / max(len(walked), 1),
        }  # fmt: skip

    def _wait_matched(self, tenant: str, expected: set[str], timeout: float) -> float | None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            stored = {m["externalId"] for c in self.vitally.conversations(tenant)
                      for m in c["messages"]}  # fmt: skip
            if expected <= stored:
                return time.time()
            time.sleep(1.0)
        return None

    def measure(self) -> dict[str, Any]:
        service = self.start()
        follower = self.audit.follow(self.options.bootstrap, self.deployment.audit_topic)
        live = Live(self.producer, self.deployment.input_topic, self.options.live_rate,
                    [self.tenants["live"], self.tenants["both"]])  # fmt: skip
        thread = threading.Thread(target=live.run, daemon=True)
        figures: dict[str, Any] = {}
        try:
            thread.start()
            time.sleep(self.options.phase_seconds)
            live.phase = "import"
            began = time.time()
            self.connect("both", "--unthread-api-key", f"{self.tenants['both']}-ukey",
                         "--import-since", "30")  # fmt: skip
            want = self.options.import_conversations * (1 + self.options.replies)
            while self.imported() < want and time.time() - began < self.options.import_timeout:
                time.sleep(1.0)
            figures["import_s"] = time.time() - began
            figures["imported"] = self.imported()
            live.phase = "lossy"
            live.tenants = [self.tenants["live"]]
            figures["lossy"] = self.lossy_phase(live)
            live.stop.set()
            thread.join()
            self.producer.flush(30)
            time.sleep(5.0)  # the last live events' audit records
        finally:
            live.stop.set()
            self.audit.stop.set()
            follower.join(timeout=10)
            service.stop()
        figures["latency"] = self.latencies(live)
        return figures

    def latencies(
        self, live: Live
    ) -> dict[tuple[str, str], tuple[int, float | None, float | None]]:
        """(phase, role) -> (events, p50 ms, p99 ms), of live events' final audit records."""
        roles = {tenant: role for role, tenant in self.tenants.items()}
        waits: dict[tuple[str, str], list[float]] = {}
        for a in self.audit.records:
            if a.get("origin") not in (None, "live") or not is_result(
                a.get("outcome"), a.get("reason")
            ):
                continue
            phase = live.produced.get(a.get("conversationId", ""))
            if a.get("tenantId") == self.tenants["lossy"]:
                phase = "lossy"
            if phase is None:
                continue
            wait = float(a["processedAt"]) - float(a["eventTimestamp"])
            waits.setdefault((phase, roles[a["tenantId"]]), []).append(wait)
        return {key: (len(v), percentile(v, 50), percentile(v, 99)) for key, v in waits.items()}


def report(label: str, figures: dict[str, Any]) -> None:
    print(f"\n{label}: import of {figures['imported']} messages took {figures['import_s']:.1f} s")
    print("| system | phase | tenant | events | p50 ms | p99 ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (phase, role), (count, p50, p99) in sorted(figures["latency"].items()):
        print(f"| {label} | {phase} | {role} | {count} | {p50:.0f} | {p99:.0f} |")
    lossy = figures["lossy"]
    matched = "never (timed out)" if lossy["matched_s"] is None else f"{lossy['matched_s']:.1f} s"
    print(f"lossy bus: {lossy['lost']} of {lossy['events']} events lost "
          f"({lossy['conversations']} conversations); Vitally matched Unthread {matched} after "
          f"the last event (interval {RECONCILE_S} s); {lossy['reconciled']} conversations "
          f"reconciled, {lossy['repaired']} events repaired; per conversation reconciled: "
          f"{lossy['unthread_per_conversation']:.2f} Unthread calls (look-ups included), "
          f"{lossy['vitally_per_conversation']:.2f} Vitally calls")  # fmt: skip


def parse(argv: list[str] | None) -> tuple[Options, str | None]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.import_live", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--live-rate", type=float, default=10.0, help="events/s per live tenant")
    parser.add_argument("--phase-seconds", type=float, default=20.0)
    parser.add_argument("--import-conversations", type=int, default=200)
    parser.add_argument("--replies", type=int, default=1, help="per imported conversation")
    parser.add_argument("--import-timeout", type=float, default=180.0)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--worker-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--against", metavar="COMMIT", help="that commit's worker first")
    ns = parser.parse_args(argv)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        parser.error("set KAFKA_BOOTSTRAP_SERVERS (a running broker)")
    env = dict(item.split("=", 1) for item in ns.worker_env)
    return Options(bootstrap, ns.live_rate, ns.phase_seconds, ns.import_conversations,
                   ns.replies, ns.import_timeout, ns.partitions, env), ns.against  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    options, against = parse(argv)
    codes: list[Checkout | None] = [checkout(against)] if against else []
    codes.append(None)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="importlive-")))
        vitally = stack.enter_context(run_sandbox(latency_ms=50.0, rate_limit=VITALLY_LIMIT))
        unthread = stack.enter_context(run_unthread_sandbox(latency_ms=50.0))
        for code in codes:
            run = Run(options, code, vitally, unthread, workdir)
            report(run.label, run.measure())
    return 0


if __name__ == "__main__":
    sys.exit(main())
