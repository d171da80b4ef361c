"""``python -m demo``: the whole service on this machine, with a demo tenant and sample events.

Starts (or reuses) a local Kafka broker (kafka_local, or KAFKA_BOOTSTRAP_SERVERS when set),
the Vitally sandbox seeded with the demo org, and one worker from the Procfile; connects the
demo tenant through the CLI; sends a few conversations; then prints what arrived in Vitally
and the audit trail. The worker keeps running until Ctrl-C (``--exit`` stops right away).

``--running`` starts nothing: Kafka (KAFKA_BOOTSTRAP_SERVERS), the sandbox (VITALLY_BASE_URL)
and a worker (``--worker-url``) are already up, as in docker-compose's ``demo`` service; it
connects the demo tenant, sends the events, shows what arrived and exits.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from confluent_kafka import Consumer, Producer
from cryptography.fernet import Fernet
from devtools.processes import procfile_command, stop_process, wait_for_http
from kafka_local import LocalKafka

from demo.events import Record, new_conversation, reply

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".local"
TENANT = "T01ACME"
CLI = Path(sys.executable).parent / "vitally-sync"  # the console script of this venv


def sample_events(now: datetime) -> list[Record]:
    t = [now + timedelta(seconds=i) for i in range(10)]
    return [
        new_conversation(TENANT, "demo-conv-1", submitter="jane@customer.example",
                         assignee="sam@vendor.example", title="CSV export fails",
                         text="Hi, the *CSV export* fails with a timeout", at=t[0]),
        reply(TENANT, "demo-conv-1", "Thanks Jane, looking into it now.",
              sender="sam@vendor.example", support=True, at=t[1]),
        reply(TENANT, "demo-conv-1", "It works again, thank you!",
              sender="jane@customer.example", support=False, at=t[2]),
        new_conversation(TENANT, "demo-conv-2", submitter="bob@customer.example",
                         assignee=None, title=None,
                         text="Can we add a second admin to our workspace?", at=t[3]),
        reply(TENANT, "demo-conv-2", "Note to self: check the plan", sender="sam@vendor.example",
              support=True, at=t[4], isPrivateNote=True),
        new_conversation(TENANT, "demo-conv-3", submitter="stranger@unknown.example",
                         assignee=None, title="Who am I?", text="Hello?", at=t[5]),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--exit", action="store_true", help="stop everything after the demo")
    parser.add_argument("--kafka-port", type=int, default=9092)
    parser.add_argument("--sandbox-port", type=int, default=8899)
    parser.add_argument("--web-port", type=int, default=6066)
    parser.add_argument(
        "--running",
        action="store_true",
        help="use the Kafka, sandbox and worker that are already running (docker-compose)",
    )
    parser.add_argument("--worker-url", help="with --running (default: http://127.0.0.1:PORT)")
    args = parser.parse_args()
    if args.running:
        return against_running(args.worker_url or f"http://127.0.0.1:{args.web_port}")
    STATE.mkdir(exist_ok=True)
    with ExitStack() as stack:
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            step("starting Kafka (kafka_local, KRaft, jars from Maven Central)")
            broker = stack.enter_context(LocalKafka(port=args.kafka_port))
            bootstrap = broker.bootstrap_servers
        sandbox_url = f"http://127.0.0.1:{args.sandbox_port}"
        step(f"starting the Vitally sandbox on {sandbox_url} (demo org 'acme')")
        stack.callback(
            stop_process,
            spawn(
                "sandbox",
                [
                    sys.executable,
                    "-m",
                    "vitally_sandbox",
                    "--port",
                    str(args.sandbox_port),
                    "--demo",
                ],
            ),
        )
        wait_http(f"{sandbox_url}/_sandbox/health")
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "VITALLY_BASE_URL": sandbox_url,
            "ADMIN_API_TOKEN": os.environ.get("ADMIN_API_TOKEN", "demo-admin-token"),
            "SECRETS_KEY": os.environ.get("SECRETS_KEY") or secrets_key(),
            "WEB_PORT": str(args.web_port),
            "DATA_DIR": str(STATE / "worker-data"),
        }
        step("connecting demo tenant T01ACME (vitally-sync connect, validated against Vitally)")
        subprocess.run(  # noqa: S603 - our own console script
            [str(CLI), "connect", "--tenant", TENANT, "--subdomain", "acme",
             "--api-key", "demo-acme-secret", "--default-admin-email", "ops@vendor.example"],
            env=env, check=True, cwd=ROOT,
        )  # fmt: skip
        step(f"starting the worker (Procfile), web API on http://127.0.0.1:{args.web_port}")
        worker = spawn("worker", procfile_command(), env=env)
        stack.callback(stop_process, worker)
        wait_http(f"http://127.0.0.1:{args.web_port}/ready", timeout=90)
        events = sample_events(datetime.now(UTC))
        step(f"sending {len(events)} sample events to unthread.conversation-events")
        send(bootstrap, events)
        show_audit(bootstrap, len(events))
        show_vitally(sandbox_url)
        step(
            f"console: http://127.0.0.1:{args.web_port}/console/ (sign in with the "
            "ADMIN_API_TOKEN: demo-admin-token unless you set one)"
        )
        if not args.exit:
            step("running; Ctrl-C stops the worker, the sandbox and Kafka")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    return 0


def against_running(worker_url: str) -> int:
    """The demo against services that already run, configured by the environment."""
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    sandbox_url = os.environ["VITALLY_BASE_URL"]
    step("connecting demo tenant T01ACME (vitally-sync connect, validated against Vitally)")
    subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), "connect", "--tenant", TENANT, "--subdomain", "acme",
         "--api-key", "demo-acme-secret", "--default-admin-email", "ops@vendor.example"],
        check=True,
    )  # fmt: skip
    step(f"waiting for the worker at {worker_url} to see the tenant")
    token = os.environ["ADMIN_API_TOKEN"]
    url = f"{worker_url}/tenants/{TENANT}/integrations/vitally"
    deadline = time.monotonic() + 60
    while httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code != 200:
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not show the tenant within 60 s")
        time.sleep(0.5)
    events = sample_events(datetime.now(UTC))
    step(f"sending {len(events)} sample events to unthread.conversation-events")
    send(bootstrap, events)
    show_audit(bootstrap, len(events))
    show_vitally(sandbox_url)
    return 0


def send(bootstrap: str, events: list[Record]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for event in events:
        producer.produce("unthread.conversation-events", key=event.key, value=event.value)
    producer.flush(30)


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def secrets_key() -> str:
    path = STATE / "secrets.key"
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
    return path.read_text().strip()


def spawn(
    name: str, command: list[str], env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log = (STATE / f"{name}.log").open("wb")
    print(f"    logs: {log.name}")
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603


def wait_http(url: str, timeout: float = 30) -> None:
    if not wait_for_http(url, timeout):
        raise SystemExit(f"{url} did not answer in {timeout}s: see the logs in {STATE}")


def show_audit(bootstrap: str, expected: int) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"demo-{time.time()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(["vitally-sync.audit"])
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(seen) < expected:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            seen.append(json.loads(message.value() or b""))
    consumer.close()
    step(f"audit trail (vitally-sync.audit), {len(seen)} records of this and earlier runs:")
    for record in seen[-expected:]:
        print(
            f"    {record['conversationId']:<14} {record['event']:<22} "
            f"{record['outcome']:<9} {record['reason'] or ''}"
        )
    print("    totals:", dict(Counter(str(r["outcome"]) for r in seen)))


def show_vitally(sandbox_url: str) -> None:
    conversations = httpx.get(f"{sandbox_url}/_sandbox/orgs/acme/conversations").json()
    step(f"in Vitally (sandbox org 'acme'): {len(conversations)} conversations")
    for conversation in conversations:
        print(f"    [{conversation['externalId']}] {conversation['subject']}")
        for message in conversation["messages"]:
            print(
                f"        {message['type']:<8} {message['from']['type']} -> "
                f"{message['to'][0]['type']}: {message['message']}"
            )


if __name__ == "__main__":
    raise SystemExit(main())
