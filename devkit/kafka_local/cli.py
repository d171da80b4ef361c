"""``python -m kafka_local start|stop|status``: a broker for local runs.

``start`` daemonizes by default: it starts the broker, records its pid in
``<data dir>/kafka.pid``, prints the bootstrap address and returns, so a shell
script can go on to start the worker. ``--foreground`` keeps it attached
instead, stopping the broker on Ctrl-C or SIGTERM. Data in the data directory
is kept between runs.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from kafka_local.broker import LocalKafka
from kafka_local.config import bootstrap_of, read_properties
from kafka_local.errors import KafkaLocalError
from kafka_local.jvm import pid_alive, stop_group, wait_pid

DEFAULT_DATA_DIR = ".local/kafka"
DEFAULT_PORT = 9092
STOP_TIMEOUT_S = 30.0
NOT_RUNNING = 3  # the LSB init-script status code for "not running"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data_dir = Path(args.data_dir).resolve()
    if args.command == "start":
        return start(data_dir, port=args.port, foreground=args.foreground)
    if args.command == "stop":
        return stop(data_dir)
    return status(data_dir)


def start(data_dir: Path, *, port: int, foreground: bool) -> int:
    if (pid := running_pid(data_dir)) is not None:
        print(f"already running (pid {pid}): {_bootstrap(data_dir)}")
        return 0
    data_dir.mkdir(parents=True, exist_ok=True)
    kafka = LocalKafka(data_dir, port=port, detach=not foreground)
    try:
        kafka.start()
    except KafkaLocalError as exc:
        print(exc, file=sys.stderr)
        return 1
    _pid_file(data_dir).write_text(f"{kafka.pid}\n")
    print(kafka.bootstrap_servers, flush=True)
    return _run_in_foreground(kafka) if foreground else 0


def _run_in_foreground(kafka: LocalKafka) -> int:
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        while kafka.is_running():
            time.sleep(0.5)
        print(f"kafka broker exited\n{kafka.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        kafka.close()
        _pid_file(kafka.data_dir).unlink(missing_ok=True)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into the same orderly shutdown as Ctrl-C.
    raise KeyboardInterrupt


def stop(data_dir: Path) -> int:
    pid = running_pid(data_dir)
    if pid is None:
        print("not running")
    else:
        stop_group(pid, wait_pid(pid), STOP_TIMEOUT_S)
        print(f"stopped (pid {pid})")
    _pid_file(data_dir).unlink(missing_ok=True)
    return 0


def status(data_dir: Path) -> int:
    pid = running_pid(data_dir)
    if pid is None:
        print("not running")
        return NOT_RUNNING
    print(f"running (pid {pid}): {_bootstrap(data_dir)}")
    return 0


def running_pid(data_dir: Path) -> int | None:
    """The pid in the pid file, if that process is alive and is this dir's broker."""
    try:
        pid = int(_pid_file(data_dir).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) and _is_broker_of(pid, data_dir) else None


def _is_broker_of(pid: int, data_dir: Path) -> bool:
    # A stale pid file may name a recycled pid; never signal a stranger.
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True  # no procfs (macOS): trust the live pid
    args = cmdline.read_bytes().split(b"\0")
    return b"kafka.Kafka" in args and str(data_dir / "server.properties").encode() in args


def _pid_file(data_dir: Path) -> Path:
    return data_dir / "kafka.pid"


def _bootstrap(data_dir: Path) -> str:
    return bootstrap_of(read_properties(data_dir / "server.properties"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kafka_local", description="Run a local single-node Kafka broker."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="start the broker (daemonized by default)")
    start_parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    start_parser.add_argument(
        "--foreground", action="store_true", help="stay attached; Ctrl-C stops the broker"
    )
    commands.add_parser("stop", help="stop the broker started with this data dir")
    commands.add_parser("status", help="exit 0 and print the address if running, else 3")
    for sub in commands.choices.values():
        sub.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    return parser
