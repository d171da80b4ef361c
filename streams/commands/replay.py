"""``vitally-sync replay``: move the worker group's committed offsets on the input and retry
topics (:mod:`streams.replay`). A dry run unless ``--execute``; refuses while workers run
unless ``--force``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from streams.commands.common import CommandError, environment_epilog
from streams.replay import Target, admin_client, apply_plan, live_members, plan
from streams.settings import ClientSettings

DESCRIPTION = """Re-read input from a point: reset the worker group's (APP_ID) committed
offsets on the input and retry topics to a time, an offset or the beginning. Without
--execute nothing changes: it prints, per partition, the committed offset, the target and
how many records would be read again. Stop every worker first (the group must be empty);
records already synced are audited `duplicate` when read again, without a Vitally call."""


def add_replay_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    replay = commands.add_parser(
        "replay",
        help="re-read input from a time, an offset or the beginning (dry run by default)",
        description=DESCRIPTION,
        epilog=environment_epilog(ClientSettings),
    )
    where = replay.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--to-datetime",
        metavar="WHEN",
        type=_datetime,
        help="the first record at or after this ISO 8601 time (e.g. 2026-12-04T18:00:00Z; "
        "UTC when it names no zone)",
    )
    where.add_argument(
        "--to-offset", metavar="N", type=int, help="this offset (kept within each partition)"
    )
    where.add_argument(
        "--to-earliest", action="store_true", help="the oldest record Kafka still holds"
    )
    replay.add_argument(
        "--partitions",
        metavar="0,3",
        type=_partitions,
        help="only these partition numbers (of each topic); default: all",
    )
    replay.add_argument(
        "--topics",
        choices=["all", "input", "retry"],
        default="all",
        help="which of INPUT_TOPIC and RETRY_TOPIC to move (default: both)",
    )
    replay.add_argument(
        "--execute", action="store_true", help="apply the new offsets (default: only print them)"
    )
    replay.add_argument(
        "--force",
        action="store_true",
        help="try even while the group has members (Kafka still refuses a running worker)",
    )
    replay.set_defaults(run=run_replay, settings=ClientSettings, creates_topics=False)


def run_replay(settings: ClientSettings, ns: argparse.Namespace) -> int:
    if ns.to_earliest:
        target = Target("earliest")
    elif ns.to_offset is not None:
        if ns.to_offset < 0:
            raise CommandError("--to-offset must be 0 or more")
        target = Target("offset", offset=ns.to_offset)
    else:
        target = Target("datetime", at=ns.to_datetime)
    topics = {
        "all": [settings.input_topic, settings.retry_topic],
        "input": [settings.input_topic],
        "retry": [settings.retry_topic],
    }[ns.topics]
    admin = admin_client(settings)
    group = settings.app_id
    members = live_members(admin, group)
    plans = plan(admin, group, topics, target, ns.partitions)
    print(f"group {group}: to {target.describe()}")
    print(f"{'topic':<40} {'partition':>9} {'committed':>10} {'target':>10} {'reread':>8}")
    for p in plans:
        committed = "-" if p.committed is None else str(p.committed)
        print(f"{p.topic:<40} {p.partition:>9} {committed:>10} {p.target:>10} {p.reread:>8}")
    total = sum(p.reread for p in plans)
    print(f"records read again: {total}" + (" (negative: passed over)" if total < 0 else ""))
    if members and not (ns.force and ns.execute):
        message = f"group {group} has {len(members)} live member(s) ({', '.join(members)})"
        if ns.execute:
            raise CommandError(f"{message}: stop the workers first, or add --force")
        print(f"note: {message}; stop the workers before --execute")
    if not ns.execute:
        print("dry run: nothing changed; add --execute to apply")
        return 0
    apply_plan(admin, group, plans)
    print(f"applied: the workers of {group} continue at the targets when they start")
    return 0


def _datetime(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {value!r}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _partitions(value: str) -> list[int]:
    try:
        numbers = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"partition numbers, comma-separated: {value!r}") from None
    if not numbers or numbers[0] < 0:
        raise argparse.ArgumentTypeError(f"partition numbers, comma-separated: {value!r}")
    return numbers
