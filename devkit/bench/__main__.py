"""``python -m bench`` (or ``make bench``): run the benchmark scenarios and print the figures.

Kafka: the broker at KAFKA_BOOTSTRAP_SERVERS when set, else a local single-node broker
(kafka_local) started for the run. The Vitally sandbox is started per scenario. Every run
uses fresh topics, consumer groups and sandbox orgs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from kafka_local import LocalKafka

from bench.against import checkout
from bench.report import (
    as_json,
    enrichment_table,
    notes,
    ratio_table,
    table,
    verdict_lines,
    verdicts,
)
from bench.runner import Result, RunOptions
from bench.scenarios import SCENARIOS, Sizes, build, run_scenario


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    defaults = Sizes()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "scenarios",
        nargs="*",
        default=["all"],
        help=f"all (default) or any of: {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--tenants", type=int, default=defaults.tenants)
    parser.add_argument(
        "--conversations",
        type=int,
        default=defaults.conversations,
        help="conversations in latency50",
    )
    parser.add_argument(
        "--messages",
        type=int,
        default=defaults.messages,
        help="average messages per conversation, the initial one included",
    )
    parser.add_argument("--naive-conversations", type=int, default=defaults.naive_conversations)
    parser.add_argument(
        "--latency0-conversations", type=int, default=defaults.latency0_conversations
    )
    parser.add_argument(
        "--ratelimit-conversations", type=int, default=defaults.ratelimit_conversations
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=defaults.rate_limit,
        help="requests per minute of the backlogged tenant in ratelimit",
    )
    parser.add_argument(
        "--sparse-conversations",
        type=int,
        default=defaults.sparse_conversations,
        help="conversations in sparse (each run: the full baseline and the sparse one)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--partitions", type=int, default=8, help="input topic partitions")
    parser.add_argument(
        "--produce-rate",
        type=float,
        default=None,
        help="events/s to pace producing at (default: all up front)",
    )
    parser.add_argument(
        "--stall-timeout",
        type=float,
        default=RunOptions.stall_timeout,
        help="give up when no audit record arrives for this long (s)",
    )
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="add to vitally-sync's environment (repeatable), to try settings",
    )
    parser.add_argument(
        "--against",
        metavar="COMMIT",
        help="also run that commit's worker, right before this one's, in every vitally-sync "
        "run (a worktree and .venv of it in the temporary directory, made once, reused)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="vitally-sync's worker processes, sharing its consumer group (default 1)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--logs", type=Path, help="keep the systems' logs in this directory")
    return parser.parse_args(argv)  # fmt: skip


@contextmanager
def broker() -> Iterator[str]:
    if bootstrap := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield bootstrap
        return
    print("==> starting a local Kafka broker (kafka_local)", flush=True)
    with LocalKafka() as kafka:
        yield kafka.bootstrap_servers


@contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="vitally-sync-bench-") as tmp:
        yield Path(tmp)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = list(SCENARIOS) if "all" in args.scenarios else args.scenarios
    sizes = Sizes(
        tenants=args.tenants, conversations=args.conversations, messages=args.messages,
        naive_conversations=args.naive_conversations,
        latency0_conversations=args.latency0_conversations,
        ratelimit_conversations=args.ratelimit_conversations, rate_limit=args.rate_limit,
        sparse_conversations=args.sparse_conversations, seed=args.seed,
    )  # fmt: skip
    scenarios = [build(name, sizes) for name in names]
    worker_env = dict(item.split("=", 1) for item in args.worker_env)
    against = checkout(args.against) if args.against else None
    started = time.monotonic()
    results: list[Result] = []
    with broker() as bootstrap, workdir(args.logs) as scratch:
        options = RunOptions(
            bootstrap=bootstrap, workdir=scratch, partitions=args.partitions,
            stall_timeout=args.stall_timeout, produce_rate=args.produce_rate,
        )  # fmt: skip
        for scenario in scenarios:
            print(f"==> {scenario.name}: Vitally latency {scenario.latency_ms:.0f} ms", flush=True)
            results.extend(run_scenario(scenario, options, worker_env, against, args.workers))
    print()
    print(f"vitally-sync benchmark: {' '.join(sys.argv[1:]) or '(defaults)'}; "
          f"{os.cpu_count()} cores, {platform.python_implementation()} "
          f"{platform.python_version()}; {time.monotonic() - started:.0f} s in all")  # fmt: skip
    print(table(results))
    print("* pass-through: event -> audit record (it makes no Vitally call)")
    if ratios := ratio_table(results):
        print()
        print(ratios)
    if enrichment := enrichment_table(results):
        print()
        print(enrichment)
    if stalls := notes(results):
        print(stalls)
    print()
    outcome = verdicts(results)
    print(verdict_lines(outcome))
    if args.json is not None:
        args.json.write_text(as_json(results) + "\n")
    # Correctness must hold in every run; a missed performance target is reported, not fatal.
    broken = any(not (r.checks.clean and r.lost == 0) for r in results)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
