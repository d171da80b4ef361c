"""Starting and stopping the Kafka JVMs.

The broker runs in its own session (and so its own process group): a Ctrl-C
aimed at the test run reaches Python, which then shuts the broker down in
order, and stopping signals the whole group. On Linux the JVM also gets
SIGKILL if the Python process dies without cleaning up (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from kafka_local._tail import tail_text
from kafka_local.errors import StorageFormatError, ToolNotFound

LOG4J2_CONFIG = Path(__file__).with_name("log4j2.properties")
# Small fixed heap and the serial collector: quick to start, and a test
# broker with a handful of topics never needs more.
BROKER_JVM_OPTIONS = ("-Xms256m", "-Xmx768m", "-XX:+UseSerialGC", "-Djava.awt.headless=true")
FORMAT_TIMEOUT_S = 120.0
_PR_SET_PDEATHSIG = 1


def find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (candidate := Path(java_home, "bin", "java")).is_file():
        return str(candidate)
    java = shutil.which("java")
    if java is None:
        raise ToolNotFound("java")
    return java


def java_command(
    classpath: Sequence[Path],
    main: str,
    args: Sequence[str],
    *,
    logs_dir: Path,
    options: Sequence[str] = (),
) -> list[str]:
    return [
        find_java(),
        *options,
        f"-Dkafka.logs.dir={logs_dir}",
        f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
        "-cp",
        os.pathsep.join(map(str, classpath)),
        main,
        *args,
    ]


def format_storage(
    classpath: Sequence[Path], properties_file: Path, cluster_id: str, *, logs_dir: Path
) -> None:
    """Write the KRaft metadata a fresh log directory needs before first start."""
    args = ["format", "-t", cluster_id, "-c", str(properties_file)]
    command = java_command(classpath, "kafka.tools.StorageTool", args, logs_dir=logs_dir)
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            command, capture_output=True, text=True, timeout=FORMAT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise StorageFormatError(-1, f"timed out after {FORMAT_TIMEOUT_S:.0f}s") from exc
    if result.returncode != 0:
        raise StorageFormatError(result.returncode, tail_text(result.stdout + result.stderr))


def spawn(
    command: Sequence[str], *, cwd: Path, output: Path, detach: bool
) -> subprocess.Popen[bytes]:
    """Start command in a new session, stdout and stderr appended to output.

    detach=True is for daemons that must outlive this process (the CLI).
    """
    with output.open("ab") as sink:
        return subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=None if detach else _die_with_parent_hook(),
        )


def _die_with_parent_hook() -> Callable[[], None] | None:
    # Linux ties PDEATHSIG to the *thread* that forked: spawned from a worker
    # thread (asyncio.to_thread, an executor) the JVM would die with that
    # thread. The main thread lives as long as the process, so only it asks.
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return hook


def signal_group(pgid: int, sig: signal.Signals) -> None:
    # The group is gone once its last member has exited; that is the goal anyway.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def stop_group(pgid: int, exited: Callable[[float], bool], timeout_s: float) -> None:
    """SIGTERM the group (Kafka then shuts down cleanly), SIGKILL it after timeout_s.

    ``exited(seconds)`` waits up to that long and reports whether the leader is gone.
    """
    signal_group(pgid, signal.SIGTERM)
    if not exited(timeout_s):
        signal_group(pgid, signal.SIGKILL)
        exited(timeout_s)


def wait_child(process: subprocess.Popen[bytes]) -> Callable[[float], bool]:
    def exited(timeout_s: float) -> bool:
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    return exited


def wait_pid(pid: int) -> Callable[[float], bool]:
    """For a process that is not our child (the CLI's daemon): poll until it is gone."""

    def exited(timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while pid_alive(pid):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    return exited


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    # A daemon that exited but whose new parent never reaps it (PID 1 in many
    # containers) still answers kill(pid, 0).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"
