"""``python -m bench.profile_split FILE``: a worker's CPU profile split by part.

FILE is what ``py-spy record --gil -f raw -o FILE -p <worker pid>`` writes: one line per
distinct stack, its frames root first and separated by ``;``, then the number of samples.
Each sample goes to the part of the innermost frame that names one, so the handler's call
into pydantic counts as serialisation and the Vitally client's call into httpx as the HTTP
client; a stack with none (the event loop, selectors) is "event loop and the rest".
``--ours N`` also lists the N heaviest of our own functions, each with every sample under it.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

# Checked innermost frame first; within a frame, the first part that matches wins.
PARTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("logging and metrics", re.compile(
        r"\((logging|prometheus_client|pythonjsonlogger)/|\(streams/(logs|metrics)\.py")),
    ("serialisation", re.compile(r"\((pydantic|pydantic_core|json|orjson|schemas)/")),
    ("HTTP client", re.compile(
        r"\((httpx|httpx_aiohttp|aiohttp|httpcore|h11|anyio|yarl|multidict|apiclient|vitally"
        r"|unthread)/")),
    ("Faust/aiokafka", re.compile(
        r"\((faust|mode|aiokafka|kafka|rocksdict)/|\(streams/(seam|delivery)")),
    ("our handler", re.compile(r"\((streams|processors|integrations|aiocache|email)/")),
)  # fmt: skip
REST = "event loop and the rest"
OURS = re.compile(r"\((streams|processors|integrations|schemas|apiclient|vitally|unthread)/")


def samples(path: Path) -> Iterator[tuple[list[str], int]]:
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield stack.split(";"), int(count)


def part_of(frames: Sequence[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in PARTS:
            if pattern.search(frame):
                return name
    return REST


def split(path: Path) -> tuple[Counter[str], int]:
    parts: Counter[str] = Counter()
    for frames, count in samples(path):
        parts[part_of(frames)] += count
    return parts, sum(parts.values())


def heaviest_of_ours(path: Path, top: int) -> list[tuple[str, int]]:
    """Our functions by the samples spent in them or below them (each counted once per
    stack), line numbers dropped."""
    found: Counter[str] = Counter()
    for frames, count in samples(path):
        seen = {re.sub(r":\d+\)$", ")", f) for f in frames if OURS.search(f)}
        for frame in seen:
            found[frame] += count
    return found.most_common(top)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_split", description=__doc__)
    parser.add_argument("profile", type=Path, help="py-spy's raw output (-f raw)")
    parser.add_argument("--ours", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    parts, total = split(args.profile)
    print(f"{total} samples")
    print("| part | samples | share |\n| --- | --- | --- |")
    for name, count in parts.most_common():
        print(f"| {name} | {count} | {count / total:.0%} |")
    for frame, count in heaviest_of_ours(args.profile, args.ours):
        print(f"{count:6d} {count / total:6.1%}  {frame}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
