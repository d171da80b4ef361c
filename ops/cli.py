"""The ``audit`` and ``why`` commands of ``vitally-sync``: their options, and running them.

Exit codes: 0 done; 1 ``why`` found no record of the conversation; 2 bad options, Kafka not
reachable, the topic missing or the output not writable, said in one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ops.counts import AuditCounts
from ops.entries import read_entries
from ops.formats import FORMATS, render_counts, render_trail
from ops.reader import TopicReader, TopicUnreadable
from ops.settings import ReaderSettings
from ops.timerange import TimeRange, parse_instant
from ops.trail import read_trail

# What a command produces: its exit code and its output.
Command = Callable[[TopicReader, argparse.Namespace, ReaderSettings], tuple[int, str]]


class Subcommands(Protocol):
    """What argparse's ``add_subparsers()`` returns, as far as these commands use it."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def add_commands(commands: Subcommands) -> None:
    """Register ``audit`` and ``why`` on the ``vitally-sync`` parser."""
    audit = commands.add_parser(
        "audit",
        help="audit record counts per tenant, by outcome and reason (read-only)",
        description="Count the audit topic's records per tenant by outcome and reason. The "
        "time of a record is its processedAt (else its Kafka timestamp).",
    )
    _add_common(audit)
    audit.add_argument("--tenant", metavar="T", help="count only this tenant's records")
    audit.add_argument(
        "--until",
        type=_instant,
        metavar="WHEN",
        help="up to this time, exclusive (same forms as --since); default: now",
    )
    audit.set_defaults(ops_command=_audit, ops_name="audit")
    why = commands.add_parser(
        "why",
        help="one conversation's audit trail, with the fix for each reason (read-only)",
        description="Print a conversation's audit records in order: time, event, message id, "
        "outcome, reason, detail, and the step that fixes the reason.",
    )
    _add_common(why)
    why.add_argument("--tenant", required=True, metavar="T", help="the Unthread workspace id")
    why.add_argument(
        "--conversation", required=True, metavar="C", help="the Unthread conversation id"
    )
    why.add_argument(
        "--input-topic",
        metavar="TOPIC",
        help="the input topic (env INPUT_TOPIC); when its partition count differs from the "
        "audit topic's, every audit partition is read, not just the conversation's",
    )
    why.set_defaults(ops_command=_why, ops_name="why")


def is_ops_command(ns: argparse.Namespace) -> bool:
    """True for ``audit`` and ``why``: they run without the worker's settings or secrets."""
    return hasattr(ns, "ops_command")


def run(ns: argparse.Namespace) -> int:
    settings = ReaderSettings()
    if ns.bootstrap_servers:
        settings = settings.model_copy(update={"kafka_bootstrap_servers": ns.bootstrap_servers})
    topic = ns.topic or settings.audit_topic
    command: Command = ns.ops_command
    try:
        with TopicReader(
            settings, topic, timeout_s=ns.timeout, progress=sys.stderr.isatty()
        ) as reader:
            code, text = command(reader, ns, settings)
        if ns.output:
            Path(ns.output).write_text(text)
        else:
            sys.stdout.write(text)
    except (TopicUnreadable, OSError) as exc:
        print(f"vitally-sync {ns.ops_name}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


def _audit(reader: TopicReader, ns: argparse.Namespace, _: ReaderSettings) -> tuple[int, str]:
    window = TimeRange(ns.since, ns.until)
    counts = AuditCounts(window, ns.tenant).add_all(read_entries(reader.read(None, ns.since)))
    return 0, render_counts(counts, ns.format)


def _why(reader: TopicReader, ns: argparse.Namespace, env: ReaderSettings) -> tuple[int, str]:
    steps, partitions = read_trail(
        reader,
        tenant=ns.tenant,
        conversation=ns.conversation,
        input_topic=ns.input_topic or env.input_topic,
        since=ns.since,
    )
    where = f"partition {partitions[0]}" if partitions else "all partitions"
    if not steps:
        print(
            f"no audit records of conversation {ns.conversation} of tenant {ns.tenant} "
            f"in {reader.topic} ({where})",
            file=sys.stderr,
        )
        return 1, ""
    heading = (
        f"conversation {ns.conversation} of tenant {ns.tenant}: {len(steps)} audit records "
        f"({reader.topic}, {where})\n"
    )
    return 0, (heading if ns.format == "table" else "") + render_trail(steps, ns.format)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap-servers",
        metavar="HOSTS",
        help="Kafka brokers (env KAFKA_BOOTSTRAP_SERVERS, default 127.0.0.1:9092)",
    )
    parser.add_argument(
        "--topic", help="the audit topic (env AUDIT_TOPIC, default vitally-sync.audit)"
    )
    parser.add_argument(
        "--since",
        type=_instant,
        metavar="WHEN",
        help="from this time: ISO date-time (UTC unless it says otherwise) or a duration "
        "back from now like 90m, 24h, 7d; default: the start of the topic",
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="seconds to wait for Kafka before giving up (default 10)",
    )


def _instant(text: str) -> int:
    try:
        return parse_instant(text, datetime.now(UTC))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
