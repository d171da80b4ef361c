"""python -m kafka_local start/status/stop, as a shell script would use it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka_local.jvm import pid_alive

from tests.fixtures.kafka import consume_all, produce, unique_name


def kafka_local(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "kafka_local", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    kafka_local("stop", "--data-dir", str(tmp_path))  # even when the test failed


def test_start_daemonizes_and_stop_stops(data_dir: Path) -> None:
    started = kafka_local("start", "--port", "0", "--data-dir", str(data_dir))
    assert started.returncode == 0, started.stderr
    bootstrap = started.stdout.strip()
    pid = int((data_dir / "kafka.pid").read_text())

    status = kafka_local("status", "--data-dir", str(data_dir))
    assert (status.returncode, status.stdout.strip()) == (0, f"running (pid {pid}): {bootstrap}")
    topic = unique_name("cli")
    produce(bootstrap, topic, [(None, b"from-cli-broker", [])])
    assert [r.value for r in consume_all(bootstrap, topic, 20)] == [b"from-cli-broker"]

    stopped = kafka_local("stop", "--data-dir", str(data_dir))
    assert stopped.returncode == 0
    assert not pid_alive(pid)
    assert not (data_dir / "kafka.pid").exists()
    assert kafka_local("status", "--data-dir", str(data_dir)).returncode == 3


def test_stop_ignores_a_stale_pid_file(data_dir: Path) -> None:
    (data_dir / "kafka.pid").write_text("1\n")  # alive, but not our broker

    stopped = kafka_local("stop", "--data-dir", str(data_dir))

    assert (stopped.returncode, stopped.stdout.strip()) == (0, "not running")
    assert not (data_dir / "kafka.pid").exists()
