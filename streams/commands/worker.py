"""``vitally-sync worker [faust worker options]``: create missing topics, then run Faust's worker.

Faust's own options (``-l info``, ``--web-port 6067``, ...) pass through unchanged, and so do
Faust's other commands: ``vitally-sync faust agents`` is Faust's ``agents`` on the worker's
app. ``--help`` needs no settings and no Kafka: it names the environment the worker reads,
then prints Faust's options.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from integrations.kafka_config import missing_codecs
from streams.commands.common import PROG, CommandError, environment_epilog
from streams.logs import json_output
from streams.settings import Settings
from streams.topics import ensure_faust_topics, ensure_topics

HELP = f"""usage: {PROG} worker [faust worker options]

Run the sync worker: create the topics it uses when missing, then consume the input topic,
sync to Vitally and serve the HTTP API and /ready on WEB_PORT. DATA_DIR is created (with its
parents) when missing.

{environment_epilog(Settings)}

Faust's worker options follow (they pass through unchanged):
"""


def run_worker(args: list[str]) -> int:
    """``args`` starts with ``worker`` (the rest are Faust's worker options) or ``faust`` (the
    rest is a Faust command and its options)."""
    prog = PROG
    if args[0] == "faust":
        prog, args = f"{PROG} faust", args[1:]
        if not args or args[0].startswith("-"):
            return faust_help(args)
    # Not -h: that is Faust's --web-host.
    if "--help" in args[1:]:
        return worker_help(args[0])
    from streams.app import create_app  # Faust's app and its seam: only when one runs
    from streams.seam.faust_topics import faust_topics
    from streams.seam.sealed import WORKER_ROOT_OPTIONS

    settings = Settings()
    if missing := missing_codecs():
        raise CommandError(
            f"cannot read Kafka records compressed with {', '.join(missing)}: install cramjam "
            "(a dependency of this package)"
        )
    data_dir = Path(settings.data_dir).expanduser().absolute()
    # Faust makes DATA_DIR without its parents and fails in a fresh checkout or container.
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = settings.model_copy(update={"data_dir": str(data_dir)})
    layout = ensure_topics(settings)
    app = create_app(settings, layout)
    ensure_faust_topics(settings, faust_topics(app))
    # httpx logs every request at INFO: a line per Vitally call is noise at our rates and
    # costs the worker CPU; our own logs say what was synced.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The worker shows librdkafka's warnings with its own logs (the CLI's guard quiets them).
    logging.getLogger("librdkafka").setLevel(logging.WARNING)
    # Faust prints a start-up banner and status lines that are not log records: with JSON
    # logs every line of the output must be an object, so it keeps them to itself.
    quiet = ["--quiet"] if args[0] == "worker" and json_output(settings.log_format) else []
    root = [*WORKER_ROOT_OPTIONS, *quiet] if args[0] == "worker" else []
    sys.argv = [prog, *root, *args]
    app.main()
    return 0


def worker_help(command: str = "worker") -> int:
    if command == "worker":
        print(HELP, flush=True)
    return faust_help([command, "--help"], prog=PROG if command == "worker" else None)


def faust_help(args: list[str], prog: str | None = None) -> int:
    """Faust's own help (its commands, or one command's options), from a bare app: nothing
    connects and no setting is read."""
    from streams.seam.sealed import sealed_app

    app = sealed_app(PROG, autodiscover=False)
    sys.argv = [prog or f"{PROG} faust", *(args or ["--help"])]
    try:
        app.main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0
