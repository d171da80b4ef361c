"""`python -m vitally_sandbox`: serve the sandbox on a socket until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from devtools.asgi_server import build_server, serve

from vitally_sandbox.app import create_app

log = logging.getLogger("vitally_sandbox")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m vitally_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8899, help="0 picks a free port")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=Path, help="JSON file: {orgs: [...], faults: {...}}")
    seeds.add_argument("--demo", action="store_true", help="load the packaged demo_seed.json")
    parser.add_argument("--latency-ms", type=float)
    parser.add_argument("--error-rate", type=float)
    parser.add_argument("--rate-limit", type=int, help="default requests per 60 s per org")
    parser.add_argument("--retry-after", action="store_true", help="send Retry-After on 429")
    parser.add_argument("--random-seed", type=int, default=0, help="seed for the fault dice")
    return parser.parse_args(argv)


def flag_faults(args: argparse.Namespace) -> dict[str, Any]:
    """The fault settings given as flags; they win over the seed file's."""
    flags = {
        "latency_ms": args.latency_ms,
        "error_rate": args.error_rate,
        "rate_limit": args.rate_limit,
        "retry_after_header": True if args.retry_after else None,
    }
    return {name: value for name, value in flags.items() if value is not None}


def read_seed(args: argparse.Namespace) -> str:
    if args.demo:
        return resources.files("vitally_sandbox").joinpath("demo_seed.json").read_text()
    return Path(args.seed).read_text()


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    try:
        seed = json.loads(read_seed(args)) if args.seed or args.demo else None
        app = create_app(seed=seed, faults=flag_faults(args), random_seed=args.random_seed)
    except (OSError, ValueError) as exc:  # ValidationError and JSONDecodeError are ValueErrors
        log.error("cannot start the sandbox: %s", exc)
        return 2
    server = build_server(app, args.host, args.port)
    asyncio.run(serve(server, log, "vitally sandbox"))
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
