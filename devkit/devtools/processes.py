"""Start-up and shut-down of local subprocesses: free ports, readiness, a bounded stop."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port free right now; another process could take it before it is bound,
    which on loopback in a local run is rare enough to accept."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def procfile_command(process: str = "web", root: Path = ROOT) -> list[str]:
    """The Procfile's command for ``process`` (of the checkout at ``root``): what runs is what
    is deployed."""
    for line in (root / "Procfile").read_text().splitlines():
        if line.startswith("#"):
            continue
        name, _, command = line.partition(":")
        if name.strip() == process:
            return shlex.split(command.strip())
    raise LookupError(f"no {process} process in the Procfile")


def wait_for_http(
    url: str,
    timeout: float,
    *,
    check: Callable[[], None] = lambda: None,
    interval: float = 0.3,
) -> bool:
    """Poll ``url`` until it answers 200 (True) or ``timeout`` passes (False).

    ``check`` runs before each try and raises to give up early, e.g. when the process that
    should answer has exited.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(interval)
    return False


def stop_process(process: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout``; the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


@dataclass(frozen=True)
class ServedModule:
    """A `python -m <module>` server running on a loopback port, and where its output goes."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self, chars: int = 2000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


@contextmanager
def serve_module(
    module: str,
    seed: dict[str, Any],
    *,
    random_seed: int = 0,
    health_path: str = "/_sandbox/health",
    startup_timeout: float = 15.0,
) -> Iterator[ServedModule]:
    """Run a sandbox module (`--host --port --seed --random-seed`) until the block ends.

    The seed is written to a temporary JSON file; the server's output goes to a log next to
    it, quoted in the error when the server does not become healthy.
    """
    with tempfile.TemporaryDirectory(prefix=f"{module.replace('_', '-')}-") as tmp:
        seed_path = Path(tmp, "seed.json")
        seed_path.write_text(json.dumps(seed))
        log_path = Path(tmp, "server.log")
        port = free_port()
        command = [
            sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port),
            "--seed", str(seed_path), "--random-seed", str(random_seed),
        ]  # fmt: skip
        with log_path.open("wb") as log:
            # A fixed argv of our own interpreter and module, no shell.
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        served = ServedModule(f"http://127.0.0.1:{port}", process, log_path)
        try:
            _wait_healthy(served, module, health_path, startup_timeout)
            yield served
        finally:
            stop_process(process, 10)


def _wait_healthy(served: ServedModule, module: str, health_path: str, timeout: float) -> None:
    def check_alive() -> None:
        if served.process.poll() is not None:
            raise RuntimeError(f"{module} exited at start-up; its output:\n{served.output()}")

    if not wait_for_http(served.base_url + health_path, timeout, check=check_alive, interval=0.05):
        raise RuntimeError(f"{module} did not become healthy; its output:\n{served.output()}")
