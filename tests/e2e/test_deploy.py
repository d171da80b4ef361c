"""Deployability: the Procfile's worker command, run as a platform runs it, in an empty
working directory with no DATA_DIR set, becomes ready; Faust's own worker options pass
through (``--web-port``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from devtools.processes import free_port, procfile_command

from tests.fixtures.sandbox import SandboxHandle
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
