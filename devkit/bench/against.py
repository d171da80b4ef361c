"""``--against COMMIT``: the worker of another commit, run in the same benchmark as this one.

A change's cost is only readable against a baseline measured on the same machine in the
same minutes (the shared machine moves every figure by a third between runs). The commit
gets its own git worktree and virtualenv (``make install`` there), kept in the temporary
directory under the commit's id so that the next A/B reuses them; every vitally-sync run of
a scenario is then made twice, that commit's worker first, this checkout's right after.
The harness (workload, sandbox, checks, pass-through agent) is this checkout's for both.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devtools.processes import ROOT

INSTALL_TIMEOUT_S = 900


@dataclass(frozen=True)
class Checkout:
    """Code the benchmark can run the worker of: its root and a label for its rows."""

    root: Path
    label: str

    @property
    def bin(self) -> Path:
        return self.root / ".venv" / "bin"


def _git(*args: str, cwd: Path = ROOT) -> str:
    # A fixed argv of git, no shell.
    command = ["git", *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)  # noqa: S603, S607
    return done.stdout.strip()


def checkout(commit: str) -> Checkout:
    """A worktree and virtualenv of ``commit``, made once and reused."""
    sha = _git("rev-parse", "--verify", f"{commit}^{{commit}}")
    root = Path(tempfile.gettempdir()) / f"vitally-sync-ab-{sha[:12]}"
    if not (root / ".git").exists():
        print(f"==> git worktree of {sha[:12]} at {root}", flush=True)
        _git("worktree", "add", "--detach", str(root), sha)
    found = Checkout(root, f"vitally-sync @{sha[:7]}")
    if not (found.bin / "vitally-sync").exists():
        print(f"==> make install in {root} (once per commit)", flush=True)
        subprocess.run(  # noqa: S603 - make with fixed arguments, no shell
            ["make", "install", f"PYTHON={sys.executable}"],  # noqa: S607
            cwd=root, check=True, timeout=INSTALL_TIMEOUT_S,
        )  # fmt: skip
    return found
