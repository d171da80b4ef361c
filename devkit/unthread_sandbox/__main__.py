"""`python -m unthread_sandbox`: serve the sandbox on a socket until SIGTERM or SIGINT.

Clients reach its API at `http://<host>:<port>/api` (what UNTHREAD_BASE_URL is set to).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devtools.asgi_server import build_server, serve

from unthread_sandbox.app import create_app

log = logging.getLogger("unthread_sandbox")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m unthread_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8898, help="0 picks a free port")
    parser.add_argument("--seed", type=Path, help="JSON file: {tenants: [...], faults: {...}}")
    parser.add_argument("--latency-ms", type=float)
    parser.add_argument("--error-rate", type=float)
    parser.add_argument("--rate-limit", type=int, help="default requests per 60 s per tenant")
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


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    try:
        seed = json.loads(Path(args.seed).read_text()) if args.seed else None
        app = create_app(seed=seed, faults=flag_faults(args), random_seed=args.random_seed)
    except (OSError, ValueError) as exc:  # ValidationError and JSONDecodeError are ValueErrors
        log.error("cannot start the sandbox: %s", exc)
        return 2
    server = build_server(app, args.host, args.port)
    asyncio.run(serve(server, log, "unthread sandbox"))
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
