"""``vitally-sync``: the worker and the operators' commands.

* ``vitally-sync worker [faust options]``: create missing topics, then run the Faust worker.
* ``vitally-sync connect --tenant T --subdomain S --api-key K --default-admin-email E``
  (``--api-key -`` reads the key from stdin, keeping it out of ``ps`` and shell history;
  optional ``--backfill-since``, ``--on-conversation-deleted`` and ``--unthread-api-key``,
  ``none`` to clear)
* ``vitally-sync status --tenant T``: the integration (no key), its sync counts, its recent
  failures and its parked events.
* ``vitally-sync disconnect --tenant T``, ``vitally-sync tenants`` and
  ``vitally-sync recheck --tenant T`` (people were added to Vitally: try what waits for them).
* ``vitally-sync import --tenant T [--pause|--resume|--restart] [--watch]``: the tenant's
  import from Unthread and reconciliation (:mod:`streams.commands.imports`).
* ``vitally-sync rotate-secrets``: re-encrypt every stored key with the newest SECRETS_KEY.
* ``vitally-sync audit`` and ``vitally-sync why``: read-only reports on the audit topic
  (:mod:`ops.cli`); they need neither secrets nor the worker's settings.
* ``vitally-sync replay --to-earliest|--to-datetime T|--to-offset N [--execute]``: re-read input.
* ``vitally-sync faust COMMAND``: Faust's own commands on the worker's app.

Each command reads only the settings it needs (``--help`` names them); read-only commands
(status, tenants, replay) need no secrets and create no topics.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from pydantic import SecretStr, field_validator

from integrations.audit_summary import SummaryCounts
from integrations.connect import connect_tenant, disconnect_tenant, request_recheck
from integrations.rotation import RotationUnsettled, rotate_secrets
from integrations.secrets import SecretBox
from integrations.topic import publish_record, read_log, read_records, read_topic
from integrations.validation import ConnectError
from ops import cli as ops_cli
from schemas.integration import IntegrationRecord
from streams.commands.common import CommandError, environment_epilog, guarded, read_secret
from streams.commands.imports import add_import_arguments, run_import_command, walk_views
from streams.commands.replay import add_replay_parser
from streams.commands.worker import run_worker
from streams.settings import ClientSettings, Settings
from streams.topics import ensure_topics
from unthread.client import UnthreadClient
from unthread.client import build_http_client as build_unthread_http_client
from vitally.client import VitallyClient, build_http_client

DESCRIPTION = """Sync Unthread conversations into Vitally: the worker and the operators' commands.

Each command reads only the settings it needs from the environment (its --help names them):
status, tenants and replay need no secrets and create no topics; connect and rotate-secrets
need SECRETS_KEY; the worker also needs ADMIN_API_TOKEN."""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("worker", "faust"):
        return guarded(lambda: run_worker(args))
    parser = _parser()
    ns = parser.parse_args(args)
    if ops_cli.is_ops_command(ns):
        return ops_cli.run(ns)
    return guarded(lambda: _run(ns))


def _run(ns: argparse.Namespace) -> int:
    # Read from the environment: what this command needs (a command that does not say gets
    # the worker's settings and its topics made, as every command used to).
    settings = getattr(ns, "settings", Settings)()
    if getattr(ns, "creates_topics", True):
        ensure_topics(settings)
    code: int = ns.run(settings, ns)
    return code


class SecretSettings(ClientSettings):
    """Commands that encrypt or decrypt tenants' keys need SECRETS_KEY (not the API token)."""

    secrets_key: SecretStr

    @field_validator("secrets_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        SecretBox(value.get_secret_value())  # a bad key is a configuration error, up front
        return value


def _command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    help: str,
    settings: type[ClientSettings],
    *,
    writes: bool,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=help[0].upper() + help[1:] + ".",
        epilog=environment_epilog(settings),
    )  # fmt: skip
    # Only commands that write create missing topics; the others only read what is there.
    parser.set_defaults(settings=settings, creates_topics=writes)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitally-sync", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Errors: one line on stderr; exit 2 for configuration, 1 for Kafka or the run.",
    )  # fmt: skip
    commands = parser.add_subparsers(required=True, metavar="command")
    tenant_help = "the Unthread tenant (workspace) id"
    connect = _command(
        commands, "connect", "connect or reconnect a tenant's Vitally (validated first)",
        SecretSettings, writes=True,
    )  # fmt: skip
    _connect_options(connect, tenant_help)
    connect.set_defaults(run=_connect)
    disconnect = _command(
        commands, "disconnect", "stop syncing a tenant", ClientSettings, writes=True
    )
    disconnect.add_argument("--tenant", required=True, help=tenant_help)
    disconnect.set_defaults(run=_disconnect)
    _command(
        commands, "tenants", "list tenants, one JSON line each (never keys)", ClientSettings,
        writes=False,
    ).set_defaults(run=_tenants)  # fmt: skip
    status = _command(
        commands, "status",
        "one tenant's integration, sync counts, recent failures and parked events",
        ClientSettings, writes=False,
    )  # fmt: skip
    status.add_argument("--tenant", required=True, help=tenant_help)
    status.set_defaults(run=_status)
    recheck = _command(
        commands, "recheck",
        "people were added to Vitally: every worker tries the tenant's events waiting for them now",
        ClientSettings, writes=True,
    )  # fmt: skip
    recheck.add_argument("--tenant", required=True, help=tenant_help)
    recheck.set_defaults(run=_recheck)
    _import_command(commands, tenant_help)
    _command(
        commands, "rotate-secrets", "re-encrypt stored keys with the newest SECRETS_KEY",
        SecretSettings, writes=True,
    ).set_defaults(run=_rotate)  # fmt: skip
    add_replay_parser(commands)
    _faust_commands(commands)
    ops_cli.add_commands(commands)
    return parser


def _faust_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Run by streams.commands.worker before this parser sees them: listed for --help."""
    commands.add_parser(
        "worker", help="run the sync worker (Faust's worker options follow; see worker --help)"
    )
    commands.add_parser(
        "faust", help="Faust's own commands on the worker's app (agents, tables, ...; --help)"
    )


def _connect_options(connect: argparse.ArgumentParser, tenant_help: str) -> None:
    """``connect``'s options: the required connection, then the optional settings."""
    connect.add_argument("--tenant", required=True, help=tenant_help)
    connect.add_argument(
        "--subdomain", required=True, help="acme for acme.rest.vitally.io (the URL works too)"
    )
    connect.add_argument(
        "--api-key", required=True,
        help='the Vitally API key, or "-": prompted for on a terminal, else read from stdin '
        "(keeps it out of ps and shell history)",
    )  # fmt: skip
    connect.add_argument(
        "--default-admin-email", required=True, help="an active Vitally admin's email"
    )
    connect.add_argument("--region", default="us", choices=["us", "eu"], help="default: us")
    # Optional settings: left out keeps the saved value, "none" restores the default.
    connect.add_argument(
        "--backfill-since",
        help='sync conversations created since this ISO date-time, even before the connect; '
        '"none" clears',
    )  # fmt: skip
    connect.add_argument(
        "--on-conversation-deleted",
        help='"keep" (default) or "delete" the Vitally conversation; "none" restores keep',
    )
    connect.add_argument(
        "--unthread-url-template",
        help="the link from a Vitally conversation back to Unthread, with {conversationId} "
        'and/or {friendlyId}; "none" restores the default',
    )
    connect.add_argument(
        "--on-vitally-conversation-missing",
        help='a conversation someone deleted in Vitally: "skip" (default) its later events, or '
        '"recreate" it with its next message; "none" restores skip',
    )  # fmt: skip
    connect.add_argument(
        "--unthread-api-key",
        help='an Unthread service-account key, to look up what sparse events leave out; "-": '
        'prompted for (or read from stdin, after the Vitally key); "none" removes it',
    )  # fmt: skip
    _source_options(connect)


def _source_options(connect: argparse.ArgumentParser) -> None:
    """``connect``'s settings that read Unthread's API: import, reconciliation, and whether
    messages edited or deleted in Unthread change Vitally too."""
    connect.add_argument(
        "--import-since",
        help="import conversations created since this ISO date(-time), or this many days back, "
        'from Unthread (needs the Unthread key); "none" stops importing',
    )  # fmt: skip
    connect.add_argument(
        "--reconcile-interval-seconds",
        help='reconcile with Unthread every so many seconds (10-86400; needs the Unthread key); '
        '0 or "none": off',
    )  # fmt: skip
    connect.add_argument(
        "--sync-message-edits",
        help='"on": a message edited in Unthread (found by reconciliation or an import) is '
        'edited in Vitally too; "off" or "none": not (the default)',
    )  # fmt: skip
    connect.add_argument(
        "--sync-message-deletions",
        help='"on": a message deleted in Unthread (found by reconciliation or an import) is '
        'deleted from Vitally too; "off" or "none": not (the default)',
    )  # fmt: skip


def _import_command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    tenant_help: str,
) -> None:
    imports = _command(
        commands, "import",
        "a tenant's import from Unthread (importSince) and reconciliation: progress, pause, "
        "resume, restart", ClientSettings, writes=True,
    )  # fmt: skip
    add_import_arguments(imports, tenant_help)
    imports.set_defaults(run=lambda s, ns: run_import_command(s, ns, _publisher(s)))


def _publisher(settings: ClientSettings):  # type: ignore[no-untyped-def]
    async def publish(record: IntegrationRecord) -> None:
        publish_record(settings, settings.integrations_topic, record)

    return publish


def _connect(settings: SecretSettings, ns: argparse.Namespace) -> int:
    api_key = read_secret(ns.api_key, "Vitally API key: ")
    options = _options(ns)
    if options.get("unthreadApiKey") == "-":
        options["unthreadApiKey"] = read_secret("-", "Unthread API key: ")
    previous = read_records(settings, settings.integrations_topic)

    async def run() -> IntegrationRecord:
        timeout = settings.http_timeout_seconds
        async with (
            build_http_client(timeout=timeout) as http,
            build_unthread_http_client(timeout=timeout) as unthread,
        ):
            return await connect_tenant(
                tenant_id=ns.tenant,
                subdomain=ns.subdomain,
                api_key=api_key,
                default_admin_email=ns.default_admin_email,
                region=ns.region,
                previous=previous.get(ns.tenant),
                probe=VitallyClient(http),
                box=SecretBox(settings.secrets_key.get_secret_value()),
                base_url_override=settings.vitally_base_url,
                publish=_publisher(settings),
                options=options,
                unthread=UnthreadClient(unthread),
                unthread_base_url=settings.unthread_base_url,
            )

    try:
        record = asyncio.run(run())
    except ConnectError as exc:
        print(json.dumps({"error": exc.code, "message": exc.message}), file=sys.stderr)
        return 2
    print(json.dumps(record.public_view()))
    return 0


def _options(ns: argparse.Namespace) -> dict[str, str | int | None]:
    """The optional settings given on the command line, as the PUT body would name them."""
    given = {
        "backfillSince": ns.backfill_since,
        "onConversationDeleted": ns.on_conversation_deleted,
        "onVitallyConversationMissing": ns.on_vitally_conversation_missing,
        "unthreadApiKey": ns.unthread_api_key,
        "unthreadUrlTemplate": ns.unthread_url_template,
        "importSince": ns.import_since,
        "reconcileIntervalSeconds": ns.reconcile_interval_seconds,
        "syncMessageEdits": ns.sync_message_edits,
        "syncMessageDeletions": ns.sync_message_deletions,
    }
    return {
        name: None if value.strip().lower() == "none" else value
        for name, value in given.items()
        if value is not None
    }


def _saved(settings: ClientSettings, tenant_id: str) -> IntegrationRecord | None:
    """The tenant's current record; None, said on stderr, for a tenant that never connected."""
    record = read_records(settings, settings.integrations_topic).get(tenant_id)
    if record is None:
        print(json.dumps({"error": "not_connected", "message": "no such tenant"}), file=sys.stderr)
    return record


def _recheck(settings: ClientSettings, ns: argparse.Namespace) -> int:
    previous = _saved(settings, ns.tenant)
    if previous is None:
        return 2
    record = asyncio.run(request_recheck(previous, publish=_publisher(settings)))
    print(json.dumps(record.public_view()))
    return 0


def _disconnect(settings: ClientSettings, ns: argparse.Namespace) -> int:
    previous = _saved(settings, ns.tenant)
    if previous is None:
        return 2
    record = asyncio.run(disconnect_tenant(previous, publish=_publisher(settings)))
    print(json.dumps(record.public_view()))
    return 0


def _status(settings: ClientSettings, ns: argparse.Namespace) -> int:
    record = _saved(settings, ns.tenant)
    if record is None:
        return 2
    # The same answer as GET .../integrations/vitally: the (compacted) audit summary, whole.
    counts = SummaryCounts(kafka=settings, topic=settings.audit_summary_topic)
    for key, value in read_topic(settings, settings.audit_summary_topic):
        counts.add(key, value)
    counts.caught_up.set()
    view = {**record.public_view(), "syncCounts": counts.for_tenant(ns.tenant)}
    walks = walk_views(read_topic(settings, settings.source_walks_topic), ns.tenant)
    print(json.dumps({**view, **counts.attention(ns.tenant), **walks}))
    return 0


def _tenants(settings: ClientSettings, ns: argparse.Namespace) -> int:
    records = read_records(settings, settings.integrations_topic)
    for record in records.values():
        print(json.dumps(record.public_view()))
    return 0


def _rotate(settings: SecretSettings, ns: argparse.Namespace) -> int:
    topic = settings.integrations_topic
    try:
        done = rotate_secrets(
            SecretBox(settings.secrets_key.get_secret_value()),
            read_log=lambda: read_log(settings, topic),
            publish=lambda record: publish_record(settings, topic, record),
        )
    except RotationUnsettled as exc:
        raise CommandError(str(exc)) from exc
    stuck = sorted(done.undecryptable)
    print(json.dumps({"rotated": len(done.rotated), "undecryptable": stuck}))
    return 1 if stuck else 0
