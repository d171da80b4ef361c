"""The three systems the benchmark runs, each started the way it is meant to be run.

* ``naive``: :mod:`bench.naive` in a subprocess (one consumer, one event at a time);
* ``vitally-sync``: the worker from the Procfile, tenants connected with ``vitally-sync
  connect``, exactly as an operator would, against fresh topics and consumer group;
* ``passthrough``: :mod:`bench.passthrough`, a Faust agent that only writes audit records;
* ``floor``: :mod:`bench.floor`, a Faust agent that makes the one Vitally call and writes the
  two records every synced event costs, and nothing else.

Each gets its own topics and group (``Deployment.name``), so runs never see each other's
records, and is only handed the workload once its consumer group owns every partition.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from cryptography.fernet import Fernet
from devtools.processes import ROOT, free_port, procfile_command, wait_for_http

from bench.against import Checkout
from bench.kafka_io import create_topics, wait_group_assigned
from bench.procs import Running, Service, ServiceGroup

SystemName = Literal["naive", "vitally-sync", "passthrough", "floor"]
READY_TIMEOUT_S = 90.0
CONNECT_PARALLELISM = 4


@dataclass(frozen=True)
class ConnectedTenant:
    """A workload tenant and the sandbox org (Vitally account) it syncs to."""

    tenant_id: str
    subdomain: str
    token: str
    default_admin: str
    # Sparse workloads: the tenant's workspace in the Unthread sandbox and its API key.
    unthread_tenant: str | None = None
    unthread_key: str | None = None


@dataclass(frozen=True)
class Deployment:
    """Where one system runs: broker, sandbox, topics and a scratch directory."""

    name: str
    bootstrap: str
    vitally_base_url: str
    workdir: Path
    partitions: int
    unthread_base_url: str | None = None  # the Unthread sandbox, for sparse workloads

    @property
    def input_topic(self) -> str:
        return f"{self.name}.conversation-events"

    @property
    def audit_topic(self) -> str:
        return f"{self.name}.audit"

    def topic(self, suffix: str) -> str:
        return f"{self.name}.{suffix}"


class System(Protocol):
    name: SystemName
    # The system's rows in the report: its name, or which commit's worker ran (``--against``).
    label: str
    writes_vitally: bool

    def start(
        self,
        deployment: Deployment,
        tenants: list[ConnectedTenant],
        before_launch: Callable[[], None] = lambda: None,
    ) -> Running:
        """Set up and start the system; ``before_launch`` runs once its tenants are connected
        and before its process starts (a backlog is produced there)."""


def base_env(deployment: Deployment) -> dict[str, str]:
    return {
        **os.environ,
        # The console scripts of this interpreter's environment come first on PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "KAFKA_BOOTSTRAP_SERVERS": deployment.bootstrap,
        "APP_ID": deployment.name,
        "INPUT_TOPIC": deployment.input_topic,
        "AUDIT_TOPIC": deployment.audit_topic,
        "TOPIC_PARTITIONS": str(deployment.partitions),
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(free_port()),
        "DATA_DIR": str(deployment.workdir / f"{deployment.name}-data"),
    }


def _wait_assigned(deployment: Deployment, service: Running, group: str, members: int = 1) -> None:
    try:
        wait_group_assigned(
            deployment.bootstrap, group, deployment.input_topic, deployment.partitions,
            timeout_s=READY_TIMEOUT_S, members=members,
        )  # fmt: skip
    except TimeoutError:
        service.check_alive()
        raise


class NaiveSystem:
    name: SystemName = "naive"
    label = "naive"
    writes_vitally = True

    def start(
        self,
        deployment: Deployment,
        tenants: list[ConnectedTenant],
        before_launch: Callable[[], None] = lambda: None,
    ) -> Service:
        path = _tenants_config(deployment, tenants)
        command = [sys.executable, "-m", "bench.naive", "--config", str(path)]
        return _start_own(deployment, before_launch, "naive", command, base_env(deployment))


def _start_own(
    deployment: Deployment,
    before_launch: Callable[[], None],
    name: str,
    command: list[str],
    env: dict[str, str],
) -> Service:
    """One of the harness's own systems: it writes its audit topic (made here) and consumes
    in a group named after the deployment."""
    create_topics(deployment.bootstrap, [deployment.audit_topic], deployment.partitions)
    before_launch()
    log = deployment.workdir / f"{deployment.name}.log"
    service = Service(name, command, env=env, cwd=ROOT, log=log)
    _wait_assigned(deployment, service, deployment.name)
    return service


def _tenants_config(deployment: Deployment, tenants: list[ConnectedTenant]) -> Path:
    """The sandbox and each tenant's key, for the systems that call Vitally without
    ``vitally-sync connect``."""
    config = {
        "bootstrap": deployment.bootstrap,
        "group": deployment.name,
        "inputTopic": deployment.input_topic,
        "auditTopic": deployment.audit_topic,
        "vitallyBaseUrl": deployment.vitally_base_url,
        "tenants": {
            t.tenant_id: {"token": t.token, "defaultAdmin": t.default_admin} for t in tenants
        },
    }
    path = deployment.workdir / f"{deployment.name}-tenants.json"
    path.write_text(json.dumps(config))
    return path


class PassthroughSystem:
    name: SystemName = "passthrough"
    label = "passthrough"
    writes_vitally = False

    def start(
        self,
        deployment: Deployment,
        tenants: list[ConnectedTenant],
        before_launch: Callable[[], None] = lambda: None,
    ) -> Service:
        command = [sys.executable, "-m", "bench.passthrough", "worker", "-l", "info"]
        return _start_own(deployment, before_launch, "passthrough", command, base_env(deployment))


class FloorSystem:
    name: SystemName = "floor"
    label = "floor"
    # Its calls are look-ups the report need not count; the CPU they cost is the point.
    writes_vitally = False

    def start(
        self,
        deployment: Deployment,
        tenants: list[ConnectedTenant],
        before_launch: Callable[[], None] = lambda: None,
    ) -> Service:
        env = {**base_env(deployment), "FLOOR_CONFIG": str(_tenants_config(deployment, tenants))}
        command = [sys.executable, "-m", "bench.floor", "worker", "-l", "info"]
        return _start_own(deployment, before_launch, "floor", command, env)


class VitallySyncSystem:
    """The worker as deployed: Procfile command, configuration by environment only.

    ``extra_env`` is for the few harness choices stated in BENCHMARKS.md; by default the
    worker runs with its own defaults. ``code``: another commit's checkout to run the worker
    (and ``connect``) of, for an A/B (``--against``); by default this one's. ``workers``:
    worker processes in the one consumer group, each with its own ``WORKER_ID``, port and
    data directory, as the Procfile's ``worker`` scaled out on one host (``--workers``).
    """

    name: SystemName = "vitally-sync"
    writes_vitally = True

    def __init__(
        self,
        extra_env: dict[str, str] | None = None,
        code: Checkout | None = None,
        workers: int = 1,
    ) -> None:
        self.extra_env = dict(extra_env or {})
        self.code = code
        self.workers = workers
        label = code.label if code is not None else self.name
        self.label = f"{label} x{workers}" if workers > 1 else label
        self.root = code.root if code is not None else ROOT

    def env(self, deployment: Deployment) -> dict[str, str]:
        env = base_env(deployment)
        if self.code is not None:
            env["PATH"] = f"{self.code.bin}{os.pathsep}{env['PATH']}"
        return {
            **env,
            "VITALLY_BASE_URL": deployment.vitally_base_url,
            "ADMIN_API_TOKEN": secrets.token_hex(16),
            "SECRETS_KEY": Fernet.generate_key().decode(),
            # Every topic the worker uses gets this run's name, so runs never share one.
            "DLQ_TOPIC": deployment.topic("dlq"),
            "INTEGRATIONS_TOPIC": deployment.topic("integrations"),
            "RETRY_TOPIC": deployment.topic("retry"),
            "AUDIT_SUMMARY_TOPIC": deployment.topic("audit-summary"),
            "SOURCE_WALKS_TOPIC": deployment.topic("source-walks"),
            **(
                {"UNTHREAD_BASE_URL": deployment.unthread_base_url}
                if deployment.unthread_base_url
                else {}
            ),
            **self.extra_env,
        }

    def start(
        self,
        deployment: Deployment,
        tenants: list[ConnectedTenant],
        before_launch: Callable[[], None] = lambda: None,
    ) -> Running:
        env = self.env(deployment)
        with ThreadPoolExecutor(CONNECT_PARALLELISM) as pool:
            list(pool.map(lambda t: _connect(env, t, self.root), tenants))
        before_launch()
        services = [self._launch(deployment, env, index) for index in range(self.workers)]
        for service, port in services:
            _wait_ready(f"http://127.0.0.1:{port}/ready", service)
        running: Running = (
            services[0][0]
            if self.workers == 1
            else ServiceGroup("vitally-sync", [service for service, _ in services])
        )
        _wait_assigned(deployment, running, env["APP_ID"], members=self.workers)
        return running

    def _launch(
        self, deployment: Deployment, env: dict[str, str], index: int
    ) -> tuple[Service, str]:
        """Worker process ``index``; the first one keeps the deployment's own settings."""
        log = deployment.workdir / f"{deployment.name}.log"
        if index:
            env = {
                **env, "WORKER_ID": f"{deployment.name}-{index}", "WEB_PORT": str(free_port()),
                "DATA_DIR": f"{env['DATA_DIR']}-{index}",
            }  # fmt: skip
            log = log.with_suffix(f".{index}.log")
        service = Service("vitally-sync", self.command(), env=env, cwd=self.root, log=log)
        return service, env["WEB_PORT"]

    def command(self) -> list[str]:
        """The worker's command in the Procfile of the code it runs."""
        try:
            return procfile_command(root=self.root)
        except LookupError:
            # Commits before the process took Heroku's name for HTTP-serving processes.
            return procfile_command("worker", root=self.root)


def _connect(env: dict[str, str], tenant: ConnectedTenant, root: Path) -> None:
    command = [
        "vitally-sync", "connect", "--tenant", tenant.tenant_id, "--subdomain", tenant.subdomain,
        "--api-key", tenant.token, "--default-admin-email", tenant.default_admin,
    ]  # fmt: skip
    if tenant.unthread_key is not None:
        command += ["--unthread-api-key", tenant.unthread_key]
    # Our own console script with a fixed argv, no shell.
    result = subprocess.run(  # noqa: S603
        command, env=env, cwd=root, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"vitally-sync connect {tenant.tenant_id} failed: {result.stderr}")


def _wait_ready(url: str, service: Running) -> None:
    if not wait_for_http(url, READY_TIMEOUT_S, check=service.check_alive):
        raise TimeoutError(
            f"{service.name} not ready after {READY_TIMEOUT_S}s:\n{service.log_tail()}"
        )
