"""The broker's Java classpath, resolved by Maven once and then cached.

Maven takes 1-3 s even with a warm ``~/.m2`` (minutes on a cold one), so the
resolved classpath is stored under
``$XDG_CACHE_HOME/vitally-sync/kafka/<hash of pom.xml>/classpath.txt``.
Later runs reuse it without starting Maven as long as every jar it lists still
exists; editing pom.xml (e.g. bumping ``kafka.version``) changes the hash.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from kafka_local._tail import tail_text
from kafka_local.errors import ClasspathError, ToolNotFound

POM = Path(__file__).with_name("pom.xml")
MAVEN_TIMEOUT_S = 900.0


def resolve_classpath(pom: Path = POM, *, cache_root: Path | None = None) -> list[Path]:
    """Jars needed to run ``kafka.Kafka``, from the cache or from Maven."""
    pom_bytes = pom.read_bytes()
    cache_dir = (cache_root or default_cache_root()) / hashlib.sha256(pom_bytes).hexdigest()[:16]
    cache_file = cache_dir / "classpath.txt"
    cached = read_classpath(cache_file)
    if cached is not None:
        return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Maven runs on a copy beside the cache, so nothing is ever written into
    # the installed package (which may be read-only).
    pom_copy = cache_dir / "pom.xml"
    pom_copy.write_bytes(pom_bytes)
    run_maven(pom_copy, cache_file)
    resolved = read_classpath(cache_file)
    if resolved is None:
        raise ClasspathError("maven wrote a classpath with missing jars", cache_file.read_text())
    return resolved


def default_cache_root() -> Path:
    # The XDG spec says to ignore a relative XDG_CACHE_HOME.
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "vitally-sync" / "kafka"


def read_classpath(cache_file: Path) -> list[Path] | None:
    """The cached jars, or None when there is no cache or a jar has gone."""
    try:
        text = cache_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    jars = [Path(entry) for entry in text.split(os.pathsep) if entry]
    if not jars or not all(jar.is_file() for jar in jars):
        return None
    return jars


def run_maven(pom: Path, output_file: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ToolNotFound("mvn")
    # Write next to the target and rename, so a concurrent run never reads half a file.
    partial = output_file.with_name(f"{output_file.name}.{os.getpid()}.partial")
    command = [
        mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(pom),
        "dependency:build-classpath", f"-Dmdep.outputFile={partial}",
    ]  # fmt: skip
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            command, capture_output=True, text=True, timeout=MAVEN_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        message = f"maven took longer than {MAVEN_TIMEOUT_S:.0f}s"
        raise ClasspathError(message, _output(exc)) from exc
    if result.returncode != 0 or not partial.is_file():
        raise ClasspathError(f"maven exited with {result.returncode}", _output(result))
    os.replace(partial, output_file)


def _output(run: subprocess.CompletedProcess[str] | subprocess.TimeoutExpired) -> str:
    def as_text(stream: str | bytes | None) -> str:
        return stream.decode(errors="replace") if isinstance(stream, bytes) else stream or ""

    return tail_text(as_text(run.stdout) + as_text(run.stderr))
