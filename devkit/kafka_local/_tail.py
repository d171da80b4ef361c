"""Last lines of process output, for error messages."""

from __future__ import annotations

import re
from pathlib import Path

TAIL_LINES = 40
# Maven prints colour resets even in batch mode with colour off.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def tail_text(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(_ANSI_ESCAPE.sub("", text).rstrip().splitlines()[-lines:])


def tail_files(*paths: Path, lines: int = TAIL_LINES) -> str:
    """The tail of each existing file, headed by its path."""
    parts = []
    for path in paths:
        if path.exists():
            text = path.read_text(encoding="utf-8", errors="replace")
            parts.append(f"==> {path} <==\n{tail_text(text, lines)}")
    return "\n".join(parts) or "(no output files yet)"
