"""``vitally-sync import --tenant T [--pause | --resume | --restart] [--watch]``: a tenant's
import from Unthread's API (its ``importSince``) and reconciliation, shown or steered.

Pause, resume and restart change the tenant's integration record (the worker running the
import obeys it before its next conversation); the progress is read from the source-walks
topic, which only workers write. ``--watch`` redraws a progress bar until the import is done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterable

from integrations.connect import ImportAction, control_import
from integrations.topic import read_records, read_topic
from schemas.integration import IntegrationRecord
from schemas.source_walk import WalkKind, WalkProgress
from schemas.source_walk import walk_views as views_of
from streams.settings import ClientSettings

WATCH_INTERVAL_S = 2.0
BAR_WIDTH = 30


def add_import_arguments(parser: argparse.ArgumentParser, tenant_help: str) -> None:
    parser.add_argument("--tenant", required=True, help=tenant_help)
    action = parser.add_mutually_exclusive_group()
    for name, help in (
        ("pause", "stop before the next conversation; resume carries on from there"),
        ("resume", "carry on a paused import"),
        ("restart", "start the import again from the first conversation (a new generation)"),
    ):
        action.add_argument(f"--{name}", action="store_const", const=name, dest="action",
                            help=help)  # fmt: skip
    parser.add_argument(
        "--watch", action="store_true", help="redraw a progress bar until the import is done"
    )


def run_import_command(
    settings: ClientSettings,
    ns: argparse.Namespace,
    publish: Callable[[IntegrationRecord], Awaitable[None]],
) -> int:
    record = read_records(settings, settings.integrations_topic).get(ns.tenant)
    if record is None:
        print(json.dumps({"error": "not_connected", "message": "no such tenant"}), file=sys.stderr)
        return 2
    action: ImportAction | None = ns.action
    if action is not None:
        try:
            record = asyncio.run(control_import(record, action, publish=publish))
        except ValueError as exc:
            print(json.dumps({"error": "no_import", "message": str(exc)}), file=sys.stderr)
            return 2
    while True:
        walk = _progress(settings, ns.tenant, "import")
        current = walk if walk is not None and walk.generation == record.import_generation else None
        if not ns.watch:
            print(json.dumps({
                "tenantId": ns.tenant,
                "importSince": record.import_since.isoformat() if record.import_since else None,
                "importGeneration": record.import_generation,
                "importPaused": record.import_paused,
                **walk_views(read_topic(settings, settings.source_walks_topic), ns.tenant),
            }))  # fmt: skip
            return 0
        print("\r" + progress_bar(current), end="", flush=True)
        if current is not None and current.state == "done":
            print()
            return 0
        time.sleep(WATCH_INTERVAL_S)


def progress_bar(walk: WalkProgress | None) -> str:
    """One line: a bar of conversations produced out of those listed, and the state."""
    if walk is None:
        return "import: not started yet"
    total = max(walk.listed, walk.conversations + walk.unreadable, 1)
    done = walk.conversations + walk.unreadable
    filled = BAR_WIDTH * done // total
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    retry = f", again at {walk.retry_at:%H:%M:%S} UTC" if walk.retry_at is not None else ""
    error = f" ({walk.error}{retry})" if walk.error else ""
    return (
        f"import [{bar}] {done}/{walk.listed} conversations, {walk.events} events, "
        f"{walk.unreadable} unreadable: {walk.state}{error}"
    )


def walk_views(
    records: Iterable[tuple[bytes | None, bytes | None]], tenant_id: str
) -> dict[str, object]:
    """The tenant's import and reconciliation as its GET shows them, from the source-walks
    topic's `records`."""
    latest: dict[bytes, bytes | None] = {key: value for key, value in records if key is not None}

    def find(kind: WalkKind) -> WalkProgress | None:
        value = latest.get(WalkProgress.key(tenant_id, kind))
        return None if value is None else WalkProgress.from_json(value)

    return views_of(find)


def _progress(settings: ClientSettings, tenant_id: str, kind: WalkKind) -> WalkProgress | None:
    wanted = WalkProgress.key(tenant_id, kind)
    found: WalkProgress | None = None
    for key, value in read_topic(settings, settings.source_walks_topic):
        if key == wanted:
            found = None if value is None else WalkProgress.from_json(value)
    return found
