"""The ``audit``, ``why`` and ``dlq`` commands of ``vitally-sync``: their options, and running
them.

Exit codes: 0 done; 1 ``why`` found no record of the conversation, ``dlq show`` no dead
letter there, or ``dlq redrive --execute`` could not re-drive every one chosen (the table says
which, and why); 2 bad options, Kafka not reachable, the topic missing, a re-drive Kafka
refused or the output not writable, said in one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ops.counts import AuditCounts
from ops.dlq import Redriver, Selection, select
from ops.entries import read_entries
from ops.formats import (
    FORMATS,
    render_counts,
    render_letter,
    render_letters,
    render_redrives,
    render_trail,
)
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
    _add_dlq(commands)


def _add_dlq(commands: Subcommands) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="list, show and re-drive dead letters",
        description="The DLQ topic's records: list and show them (read-only), re-drive them to "
        "the topic and partition they came from (a dry run unless --execute).",
    )
    actions = dlq.add_subparsers(required=True, metavar="action")
    listing = actions.add_parser(
        "list", help="one line per dead letter (read-only)",
        description="One line per dead letter: where it is in the DLQ, when it failed, the "
        "reason, tenant, conversation, source record and attempts. Never the value.",
    )  # fmt: skip
    _add_common(listing, topic="the DLQ topic (env DLQ_TOPIC, default vitally-sync.dlq)")
    _add_selection(listing)
    listing.set_defaults(ops_command=_dlq_list, ops_name="dlq list", ops_topic="dlq_topic")
    show = actions.add_parser(
        "show", help="one dead letter, its headers and value (read-only)",
        description="Everything one dead letter says, its value (the input record) included.",
    )  # fmt: skip
    _add_common(show, topic="the DLQ topic (env DLQ_TOPIC, default vitally-sync.dlq)")
    show.add_argument("--partition", type=int, required=True, help="the DLQ partition")
    show.add_argument("--offset", type=int, required=True, help="the DLQ offset")
    show.set_defaults(ops_command=_dlq_show, ops_name="dlq show", ops_topic="dlq_topic")
    redrive = actions.add_parser(
        "redrive", help="produce dead letters to their source again (dry run by default)",
        description="Produce the chosen dead letters to the topic they came from, on the "
        "partition the worker's producer picks for the key (the Java client's murmur2), with "
        "their own headers and x-redriven-from. The worker handles each again and looks "
        "Vitally up before writing: nothing is written twice, and re-driving the same record "
        "again is audited duplicate. Without --execute nothing is produced. Choose with "
        "--reason, --tenant, --since/--until, or --partition/--offset; with none, all.",
    )  # fmt: skip
    _add_common(redrive, topic="the DLQ topic (env DLQ_TOPIC, default vitally-sync.dlq)")
    _add_selection(redrive)
    redrive.add_argument("--offset", type=int, help="only the dead letter at this offset")
    redrive.add_argument(
        "--execute", action="store_true", help="produce the records (default: only print them)"
    )
    redrive.set_defaults(ops_command=_dlq_redrive, ops_name="dlq redrive", ops_topic="dlq_topic")


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reason", action="append", metavar="R",
        help="only this reason (x-error-reason; repeat for several)",
    )  # fmt: skip
    parser.add_argument("--tenant", metavar="T", help="only this tenant's dead letters")
    parser.add_argument(
        "--until", type=_instant, metavar="WHEN",
        help="failed before this time, exclusive (same forms as --since)",
    )  # fmt: skip
    parser.add_argument("--partition", type=int, help="only this DLQ partition")


def is_ops_command(ns: argparse.Namespace) -> bool:
    """True for ``audit``, ``why`` and ``dlq``: they run without the worker's settings or
    secrets."""
    return hasattr(ns, "ops_command")


def run(ns: argparse.Namespace) -> int:
    settings = ReaderSettings()
    if ns.bootstrap_servers:
        settings = settings.model_copy(update={"kafka_bootstrap_servers": ns.bootstrap_servers})
    topic = ns.topic or getattr(settings, getattr(ns, "ops_topic", "audit_topic"))
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


def _dlq_list(reader: TopicReader, ns: argparse.Namespace, _: ReaderSettings) -> tuple[int, str]:
    return 0, render_letters(select(reader, _selection(ns), ns.since), ns.format)


def _dlq_show(reader: TopicReader, ns: argparse.Namespace, _: ReaderSettings) -> tuple[int, str]:
    found = select(reader, Selection(partition=ns.partition, offset=ns.offset), None)
    if not found:
        print(f"no dead letter at {reader.topic}/{ns.partition}/{ns.offset}", file=sys.stderr)
        return 1, ""
    return 0, render_letter(found[0], ns.format)


def _dlq_redrive(
    reader: TopicReader, ns: argparse.Namespace, env: ReaderSettings
) -> tuple[int, str]:
    redriver = Redriver(env, reader, timeout_s=ns.timeout)
    plans = redriver.plan(select(reader, _selection(ns), ns.since))
    if not ns.execute:
        return 0, render_redrives(plans, None, ns.format)
    sent = redriver.produce(plans)
    # Some chosen dead letters could not go (their original is gone): say so in the exit code.
    return (0 if len(sent) == len(plans) else 1), render_redrives(plans, sent, ns.format)


def _selection(ns: argparse.Namespace) -> Selection:
    return Selection(
        reasons=frozenset(ns.reason or ()),
        tenant=ns.tenant,
        window=TimeRange(ns.since, ns.until),
        partition=ns.partition,
        offset=getattr(ns, "offset", None),
    )


def _add_common(
    parser: argparse.ArgumentParser,
    topic: str = "the audit topic (env AUDIT_TOPIC, default vitally-sync.audit)",
) -> None:
    parser.add_argument(
        "--bootstrap-servers",
        metavar="HOSTS",
        help="Kafka brokers (env KAFKA_BOOTSTRAP_SERVERS, default 127.0.0.1:9092)",
    )
    parser.add_argument("--topic", help=topic)
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
