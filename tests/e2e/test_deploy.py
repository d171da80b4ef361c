"""Deployability: the Procfile's worker command, run as a platform runs it, in an empty
working directory with no DATA_DIR set, becomes ready; Faust's own worker options pass
through (``--web-port``); Faust's own environment variables change nothing."""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from demo.events import new_conversation, reply
from devtools.processes import free_port, procfile_command

from tests.fixtures.sandbox import ACME_TOKEN, SandboxHandle, add_acme
from tests.fixtures.worker import Deployment, WorkerProcess

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


def test_the_procfile_worker_starts_in_an_empty_directory(
    deployed: Deployment, sandbox: SandboxHandle, tmp_path: Path
) -> None:
    home, cwd = tmp_path / "home", tmp_path / "empty"
    home.mkdir()
    cwd.mkdir()
    env = deployed.env(WEB_HOST="127.0.0.1", WEB_PORT=str(free_port()), HOME=str(home))
    env.pop("DATA_DIR", None)
    env.pop("XDG_STATE_HOME", None)
    port = free_port()  # Faust's --web-port wins over WEB_PORT
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own Procfile command
            [*procfile_command(), "--web-port", str(port)],
            env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    worker = WorkerProcess(process, f"http://127.0.0.1:{port}", log_path)
    deployed.workers.append(worker)
    worker.wait_ready()
    # The default DATA_DIR is absolute ($XDG_STATE_HOME or ~/.local/state), made with parents.
    assert (home / ".local" / "state" / "vitally-sync").is_dir()
    assert list(cwd.iterdir()) == []  # nothing written where it happened to be started


def test_faust_commands_run_on_the_workers_app(deployed: Deployment) -> None:
    # (Faust's `agents` cannot describe an agent on two topics, as ours is: Faust's limit.)
    tables = deployed.cli("faust", "tables")
    assert "conversations" in tables.stdout


# Faust's own variables, set to what would crash the worker or change its delivery silently.
FAUST_HOSTILE = {
    "CONSUMER_AUTO_OFFSET_RESET": "latest",
    "PRODUCER_ACKS": "1",
    "APP_DEBUG": "true",
    "BROKER_URL": "kafka://elsewhere.invalid:9092",
    "BROKER_COMMIT_INTERVAL": "-1",
    "APP_ENV_PREFIX": "EVIL",
    "EVIL_PRODUCER_ACKS": "0",
    "FAUST_DEBUG": "1",
}


def test_faust_variables_in_the_environment_change_nothing(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    add_acme(sandbox)
    deployed.connect("T01ACME", subdomain="acme", api_key=ACME_TOKEN)
    now = datetime.now(UTC)
    # Produced before the worker starts: with Faust's "latest" these would never be read.
    sent = deployed.produce([
        new_conversation("T01ACME", "c-env", submitter="jane@customer.example",
                         assignee="sam@vendor.example", title="Sealed", text="Hi", at=now),
        reply("T01ACME", "c-env", "Hello Jane", sender="sam@vendor.example", support=True,
              at=now, message_id="m-env"),
    ])  # fmt: skip
    # Ours, and -1 is valid for us (the broker's default); Faust's reading of it crashed.
    deployed.start_worker(wait=True, TOPIC_REPLICATION_FACTOR="-1", **FAUST_HOSTILE)
    audits = deployed.audit(sent)
    assert [(a["outcome"], a["reason"]) for a in audits] == [("synced", None)] * 2
    [conversation] = sandbox.conversations("acme")
    assert len(conversation["messages"]) == 2


def test_readiness_holds_through_a_rebalance_and_liveness_reflects_the_worker(
    deployed: Deployment,
) -> None:
    first = deployed.start_worker()
    live = httpx.get(f"{first.web_url}/live", timeout=5)
    assert live.status_code == 200
    assert live.json()["checks"] == {"event_loop_runs_timers": True, "consumer_progressing": True}
    second = deployed.start_worker(wait=False)  # joining: every member rebalances
    answers: list[tuple[int, bool]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = httpx.get(f"{first.web_url}/ready", timeout=5)
        answers.append((body.status_code, body.json()["rebalancing"]))
        if any(rebalancing for _, rebalancing in answers) and not answers[-1][1]:
            break
        time.sleep(0.05)
    second.wait_ready()
    assert any(rebalancing for _, rebalancing in answers), "no rebalance seen"
    assert {status for status, _ in answers} == {200}  # ready throughout


def test_the_web_process_serves_the_tenant_api_on_the_platforms_port_and_kafka_url(
    deployed: Deployment, tmp_path: Path
) -> None:
    # As Heroku runs it: PORT given by the platform, the brokers as its add-on's KAFKA_URL.
    port = free_port()
    env = deployed.env(
        PORT=str(port), WEB_HOST="127.0.0.1", KAFKA_URL=f"kafka://{deployed.bootstrap}"
    )
    for ours in ("WEB_PORT", "KAFKA_BOOTSTRAP_SERVERS"):
        env.pop(ours, None)
    env["DATA_DIR"] = str(tmp_path / "data")
    log_path = tmp_path / "web.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own Procfile command
            procfile_command("web"), env=env, stdout=log, stderr=subprocess.STDOUT
        )
    worker = WorkerProcess(process, f"http://127.0.0.1:{port}", log_path)
    deployed.workers.append(worker)
    worker.wait_ready()
    answer = httpx.get(
        f"{worker.web_url}/tenants/T-NONE/integrations/vitally",
        headers={"Authorization": f"Bearer {deployed.admin_token}"},
        timeout=5,
    )
    assert (answer.status_code, answer.json()["error"]) == (404, "not_connected")
