"""`python -m <sandbox>`: serve a sandbox on a socket until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from devtools.asgi_server import build_server, serve
from starlette.applications import Starlette


@dataclass(frozen=True)
class SandboxCli:
    """One sandbox's command line. `package` names the program and its logger; `tenant` is
    what the sandbox calls a tenant ("org"); `demo_seed`, when set, is a seed file packaged
    with `package` that `--demo` loads."""

    package: str
    description: str | None
    default_port: int
    tenant: str
    create_app: Callable[..., Starlette]
    demo_seed: str | None = None

    def parse_args(self, argv: Sequence[str] | None) -> argparse.Namespace:
        parser = argparse.ArgumentParser(
            prog=f"python -m {self.package}", description=self.description
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--port", type=int, default=self.default_port, help="0 picks a free port"
        )
        seed_help = f"JSON file: {{{self.tenant}s: [...], faults: {{...}}}}"
        if self.demo_seed is None:
            parser.add_argument("--seed", type=Path, help=seed_help)
        else:
            seeds = parser.add_mutually_exclusive_group()
            seeds.add_argument("--seed", type=Path, help=seed_help)
            seeds.add_argument(
                "--demo", action="store_true", help=f"load the packaged {self.demo_seed}"
            )
        parser.add_argument("--latency-ms", type=float)
        parser.add_argument("--error-rate", type=float)
        parser.add_argument(
            "--rate-limit", type=int, help=f"default requests per 60 s per {self.tenant}"
        )
        parser.add_argument("--retry-after", action="store_true", help="send Retry-After on 429")
        parser.add_argument("--random-seed", type=int, default=0, help="seed for the fault dice")
        return parser.parse_args(argv)

    def read_seed(self, args: argparse.Namespace) -> Any:
        """The seed file's content, or None when none was given."""
        if getattr(args, "demo", False) and self.demo_seed is not None:
            return json.loads(resources.files(self.package).joinpath(self.demo_seed).read_text())
        return json.loads(Path(args.seed).read_text()) if args.seed else None

    def main(self, argv: Sequence[str] | None = None) -> int:
        log = logging.getLogger(self.package)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        args = self.parse_args(argv)
        try:
            seed = self.read_seed(args)
            app = self.create_app(seed=seed, faults=flag_faults(args), random_seed=args.random_seed)
        except (OSError, ValueError) as exc:  # ValidationError and JSONDecodeError are ValueErrors
            log.error("cannot start the sandbox: %s", exc)
            return 2
        server = build_server(app, args.host, args.port)
        title = self.package.replace("_", " ")
        asyncio.run(serve(server, log, title))
        return 0 if server.started else 1


def flag_faults(args: argparse.Namespace) -> dict[str, Any]:
    """The fault settings given as flags; they win over the seed file's."""
    flags = {
        "latency_ms": args.latency_ms,
        "error_rate": args.error_rate,
        "rate_limit": args.rate_limit,
        "retry_after_header": True if args.retry_after else None,
    }
    return {name: value for name, value in flags.items() if value is not None}
