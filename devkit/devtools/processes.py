"""Start-up and shut-down of local subprocesses: free ports, readiness, a bounded stop."""

from __future__ import annotations

import shlex
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port free right now; another process could take it before it is bound,
    which on loopback in a local run is rare enough to accept."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def procfile_command(process: str = "worker") -> list[str]:
    """The Procfile's command for ``process``: what runs is what is deployed."""
    for line in (ROOT / "Procfile").read_text().splitlines():
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
