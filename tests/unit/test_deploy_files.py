"""The deploy files say what the README says: the runtime image is the service alone, on the
Python minor CI runs, from the locked dependencies, as an unprivileged user; the Procfile's
worker is the documented command; docker-compose's demo uses the demo's own entry point."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEVKIT = ("devkit", "vitally_sandbox", "kafka_local", "bench", "demo", "Procfile")


def _stages() -> dict[str, list[str]]:
    stages: dict[str, list[str]] = {}
    current = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if match := re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line):
            current = match.group(2)
            stages[current] = [line]
        elif current and line and not line.startswith("#"):
            stages[current].append(line)
    return stages


def test_the_runtime_image_is_the_service_alone() -> None:
    stages = _stages()
    assert list(stages)[-1] == "runtime"  # the default target
    assert stages["runtime"][0].split()[1] == "base"
    image = stages["base"] + stages["runtime"]
    for line in image:
        if line.startswith("COPY"):
            assert not any(tool in line.split()[1:-1] for tool in DEVKIT), line
    copied = {line.split()[1] for line in image if line.startswith("COPY")}
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {p.split(".")[0].rstrip("*") for p in include["packages"]["find"]["include"]}
    assert packages <= copied, "every service package is in the image"


def test_the_image_runs_cis_python_minor_with_locked_dependencies_as_non_root() -> None:
    stages = _stages()
    base = stages["base"]
    assert base[0].split()[1].startswith(f"python:{sys.version_info[0]}.{sys.version_info[1]}-")
    installs = [line for line in base if "pip install" in line]
    assert "--require-hashes -r requirements.lock" in installs[0]
    assert all("--no-deps" in line for line in installs[1:])  # nothing unlocked after it
    users = [line for line in stages["runtime"] if line.startswith("USER")]
    # Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1].split()[1])
    assert any("DATA_DIR=/var/lib/vitally-sync" in line for line in base)
    assert any("--uid 10001 --gid 10001 --home-dir /var/lib/vitally-sync" in line for line in base)


def test_the_procfile_runs_the_documented_worker_as_web() -> None:
    # Heroku routes HTTP only to `web`: the tenant API must be served by that process.
    procfile = (ROOT / "Procfile").read_text()
    assert "web: vitally-sync worker -l info" in procfile.splitlines()
    assert not any(line.startswith("worker:") for line in procfile.splitlines())


def test_compose_demo_uses_the_demos_entry_point() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    demo = compose[compose.index("  demo:") :]
    assert '"python", "-m", "demo", "--running"' in demo
    assert '"--running"' in (ROOT / "devkit" / "demo" / "__main__.py").read_text()
