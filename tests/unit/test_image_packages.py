"""The runtime image copies every package the install includes, or its CLI fails to import."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_dockerfile_copies_every_installed_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {name.split(".")[0].rstrip("*") for name in include}
    copied = set(re.findall(r"^COPY (\w+) \1$", (ROOT / "Dockerfile").read_text(), re.M))
    assert packages <= copied, f"Dockerfile lacks COPY for {sorted(packages - copied)}"
