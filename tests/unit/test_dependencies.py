"""The service's runtime dependencies are what it imports, and the image installs them locked.

* Every third-party module the service packages import at top level comes from a
  distribution declared in pyproject's ``[project].dependencies`` (mapped with
  ``importlib.metadata.packages_distributions()``), and every declared one is imported
  (bar the few named below, with why).
* ``requirements.lock`` (``make lock``) was generated from those dependencies: the packages
  it records as wanted by ``pyproject.toml`` are exactly the declared ones, at versions the
  declared ranges allow. A change to the dependencies without ``make lock`` fails here.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK = ROOT / "requirements.lock"

# Declared but not imported by name, on purpose.
NOT_IMPORTED = {
    # /metrics is being added; the dependency stays declared for it.
    "prometheus-client": "the /metrics endpoint (in progress)",
    # aiokafka imports it itself (aiokafka.codec) when installed; the worker checks at start
    # that it is (integrations.kafka_config.missing_codecs).
    "cramjam": "aiokafka's snappy, lz4 and zstd codecs",
    # Faust imports it for STORE=rocksdb:// (faust/stores/rocksdb.py).
    "rocksdict": "Faust's rocksdb:// store driver",
}


def _declared() -> dict[str, Requirement]:
    requirements = (Requirement(r) for r in PYPROJECT["project"]["dependencies"])
    return {canonicalize_name(r.name): r for r in requirements}


def _service_packages() -> list[str]:
    patterns = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    names = {p.split(".")[0].rstrip("*") for p in patterns}
    return sorted(n for n in names if (ROOT / n).is_dir())


def _imported_modules() -> dict[str, str]:
    """Top-level module -> one file importing it, for every absolute import in the service."""
    found: dict[str, str] = {}
    for package in _service_packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def _third_party() -> dict[str, str]:
    local = set(_service_packages())
    return {
        module: where
        for module, where in _imported_modules().items()
        if module not in local and module not in sys.stdlib_module_names
    }


def test_every_import_is_a_declared_runtime_dependency() -> None:
    declared = _declared()
    distributions = packages_distributions()
    undeclared = []
    for module, where in sorted(_third_party().items()):
        owners = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not owners & declared.keys():
            undeclared.append(f"{module} ({where}; from {sorted(owners) or 'nothing installed'})")
    assert undeclared == [], "imported but not in [project].dependencies"


def test_every_declared_dependency_is_imported() -> None:
    distributions = packages_distributions()
    imported = {
        canonicalize_name(d) for module in _third_party() for d in distributions.get(module, [])
    }
    unused = sorted(set(_declared()) - imported - set(NOT_IMPORTED))
    assert unused == [], "declared in [project].dependencies but never imported"


def _lock_entries() -> tuple[dict[str, str], set[str]]:
    """Every pinned package with its version, and those the lock says pyproject wants."""
    pinned: dict[str, str] = {}
    direct: set[str] = set()
    current = None
    for line in LOCK.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", line):
            current = canonicalize_name(match.group(1))
            pinned[current] = match.group(2)
        elif current and "vitally-sync (pyproject.toml)" in line:
            direct.add(current)
    return pinned, direct


def test_the_lock_file_matches_the_declared_dependencies() -> None:
    declared = _declared()
    pinned, direct = _lock_entries()
    assert direct == set(declared), "run `make lock`: pyproject's dependencies changed"
    for name, requirement in declared.items():
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{name}=={pinned[name]} in requirements.lock is outside {requirement}: make lock"
        )
    assert "--hash=sha256:" in LOCK.read_text()  # the image installs with --require-hashes


DEVELOPMENT_ONLY = {"starlette", "uvicorn", "pytest", "respx", "testcontainers", "ruff", "mypy"}


def test_development_tools_are_not_runtime_dependencies() -> None:
    # The sandbox's web server and the test tools live in devkit/ and the dev extra.
    assert not DEVELOPMENT_ONLY & set(_declared())
    pinned, _ = _lock_entries()
    assert not DEVELOPMENT_ONLY & set(pinned)
