"""Classpath resolution: Maven runs once per pom, then the cache answers."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka_local import ClasspathError, ToolNotFound, resolve_classpath
from kafka_local.classpath import POM, default_cache_root

Run = Callable[..., subprocess.CompletedProcess[Any]]


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache resolved once for this module (Maven, with the local ~/.m2)."""
    root = tmp_path_factory.mktemp("kafka-cache")
    resolve_classpath(cache_root=root)
    return root


@pytest.fixture
def maven_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Commands of every subprocess.run from here on (they still run)."""
    calls: list[list[str]] = []
    real_run: Run = subprocess.run

    def spy(command: list[str], *args: Any, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        calls.append(command)
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    return calls


def test_resolves_the_broker_jars(cache_root: Path) -> None:
    jars = resolve_classpath(cache_root=cache_root)

    names = {jar.name for jar in jars}
    assert any(name.startswith("kafka_2.13-") for name in names)
    assert any(name.startswith("log4j-slf4j-impl-") for name in names)
    assert all(jar.is_file() for jar in jars)


def test_second_resolution_reads_the_cache_without_maven(
    cache_root: Path, maven_calls: list[list[str]]
) -> None:
    first = resolve_classpath(cache_root=cache_root)
    second = resolve_classpath(cache_root=cache_root)

    assert maven_calls == []
    assert second == first


def test_a_missing_jar_sends_it_back_to_maven(
    cache_root: Path, tmp_path: Path, maven_calls: list[list[str]]
) -> None:
    shutil.copytree(cache_root, tmp_path, dirs_exist_ok=True)
    (cache_file,) = tmp_path.glob("*/classpath.txt")
    cache_file.write_text(cache_file.read_text().strip() + ":/nonexistent/gone-1.0.jar")

    jars = resolve_classpath(cache_root=tmp_path)

    assert [Path(command[0]).name for command in maven_calls] == ["mvn"]
    assert Path("/nonexistent/gone-1.0.jar") not in jars
    assert "gone-1.0.jar" not in cache_file.read_text()


def test_cache_lives_under_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_root() == tmp_path / "vitally-sync" / "kafka"

    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    assert default_cache_root() == Path.home() / ".cache" / "vitally-sync" / "kafka"


def test_missing_maven_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(ToolNotFound) as raised:
        resolve_classpath(cache_root=tmp_path / "cache")

    assert raised.value.tool == "mvn"


def test_maven_failure_carries_its_output(tmp_path: Path) -> None:
    broken = tmp_path / "pom.xml"
    broken.write_text(POM.read_text().replace("</project>", ""))

    with pytest.raises(ClasspathError) as raised:
        resolve_classpath(broken, cache_root=tmp_path / "cache")

    assert "pom" in raised.value.output_tail.lower()
    assert raised.value.output_tail in str(raised.value)
