"""``vitally-sync``: the worker and the operators' commands.

* ``vitally-sync worker [faust options]``: create missing topics, then run the Faust worker.
* ``vitally-sync connect --tenant T --subdomain S --api-key K --default-admin-email E``
  (``--api-key -`` reads the key from stdin, keeping it out of ``ps`` and shell history;
  optional ``--backfill-since`` and ``--on-conversation-deleted``, ``none`` to clear)
* ``vitally-sync status --tenant T``: the integration (no key), its sync counts, its recent
  failures and its parked events.
* ``vitally-sync disconnect --tenant T`` and ``vitally-sync tenants``.
* ``vitally-sync rotate-secrets``: re-encrypt every stored key with the newest SECRETS_KEY.
* ``vitally-sync audit`` and ``vitally-sync why``: read-only reports on the audit topic
  (:mod:`ops.cli`); they need neither secrets nor the worker's settings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence

from integrations.connect import connect_tenant, disconnect_tenant, request_recheck
from integrations.secrets import SecretBox, UndecryptableSecret
from integrations.sync_counts import AuditCounts
from integrations.topic import publish_record, read_records, read_topic
from integrations.validation import ConnectError
from ops import cli as ops_cli
from schemas.integration import IntegrationRecord
from streams.logs import json_output
from streams.settings import Settings
from streams.topics import ensure_topics
from vitally.client import VitallyClient, build_http_client


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "worker":
        return _worker(args)
    parser = _parser()
    ns = parser.parse_args(args)
    if ops_cli.is_ops_command(ns):
        return ops_cli.run(ns)
    settings = Settings()  # read from the environment
    ensure_topics(settings)
    code: int = ns.run(settings, ns)
    return code


def _worker(args: list[str]) -> int:
    from streams.app import create_app

    settings = Settings()
    layout = ensure_topics(settings)
    app = create_app(settings, layout)
    # httpx logs every request at INFO: a line per Vitally call is noise at our rates and
    # costs the worker CPU; our own logs say what was synced.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Faust prints a start-up banner and status lines that are not log records: with JSON
    # logs every line of the output must be an object, so it keeps them to itself.
    quiet = ["--quiet"] if json_output(settings.log_format) else []
    sys.argv = ["vitally-sync", *quiet, *args]
    app.main()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitally-sync", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")
    connect = commands.add_parser("connect", help="connect or reconnect a tenant's Vitally")
    connect.add_argument("--tenant", required=True)
    connect.add_argument("--subdomain", required=True)
    connect.add_argument("--api-key", required=True, help='the key, or "-" to read it from stdin')
    connect.add_argument("--default-admin-email", required=True)
    connect.add_argument("--region", default="us", choices=["us", "eu"])
    # Optional settings: left out keeps the saved value, "none" restores the default.
    connect.add_argument("--backfill-since", help='ISO date-time, or "none"')
    connect.add_argument("--on-conversation-deleted", help='"keep", "delete" or "none"')
    connect.set_defaults(run=_connect)
    disconnect = commands.add_parser("disconnect", help="stop syncing a tenant")
    disconnect.add_argument("--tenant", required=True)
    disconnect.set_defaults(run=_disconnect)
    commands.add_parser("tenants", help="list tenants (without keys)").set_defaults(run=_tenants)
    status = commands.add_parser(
        "status", help="one tenant's integration, sync counts, recent failures and parked events"
    )
    status.add_argument("--tenant", required=True)
    status.set_defaults(run=_status)
    recheck = commands.add_parser(
        "recheck",
        help="people were added to Vitally: try the tenant's events waiting for them now",
    )
    recheck.add_argument("--tenant", required=True)
    recheck.set_defaults(run=_recheck)
    commands.add_parser(
        "rotate-secrets", help="re-encrypt stored keys with the newest SECRETS_KEY"
    ).set_defaults(run=_rotate)
    commands.add_parser("worker", help="run the sync worker (Faust options follow)")
    ops_cli.add_commands(commands)
    return parser


def _publisher(settings: Settings):  # type: ignore[no-untyped-def]
    async def publish(record: IntegrationRecord) -> None:
        publish_record(settings.kafka_bootstrap_servers, settings.integrations_topic, record)

    return publish


def _connect(settings: Settings, ns: argparse.Namespace) -> int:
    previous = read_records(settings.kafka_bootstrap_servers, settings.integrations_topic)

    async def run() -> IntegrationRecord:
        async with build_http_client(timeout=settings.http_timeout_seconds) as http:
            return await connect_tenant(
                tenant_id=ns.tenant,
                subdomain=ns.subdomain,
                api_key=sys.stdin.readline().strip() if ns.api_key == "-" else ns.api_key,
                default_admin_email=ns.default_admin_email,
                region=ns.region,
                previous=previous.get(ns.tenant),
                probe=VitallyClient(http),
                box=SecretBox(settings.secrets_key.get_secret_value()),
                base_url_override=settings.vitally_base_url,
                publish=_publisher(settings),
                options=_options(ns),
            )

    try:
        record = asyncio.run(run())
    except ConnectError as exc:
        print(json.dumps({"error": exc.code, "message": exc.message}), file=sys.stderr)
        return 2
    print(json.dumps(record.public_view()))
    return 0


def _options(ns: argparse.Namespace) -> dict[str, str | None]:
    """The optional settings given on the command line, as the PUT body would name them."""
    given = {
        "backfillSince": ns.backfill_since,
        "onConversationDeleted": ns.on_conversation_deleted,
    }
    return {
        name: None if value.strip().lower() == "none" else value
        for name, value in given.items()
        if value is not None
    }


def _disconnect(settings: Settings, ns: argparse.Namespace) -> int:
    records = read_records(settings.kafka_bootstrap_servers, settings.integrations_topic)
    previous = records.get(ns.tenant)
    if previous is None:
        print(json.dumps({"error": "not_connected", "message": "no such tenant"}), file=sys.stderr)
        return 2
    record = asyncio.run(disconnect_tenant(previous, publish=_publisher(settings)))
    print(json.dumps(record.public_view()))
    return 0


def _recheck(settings: Settings, ns: argparse.Namespace) -> int:
    records = read_records(settings.kafka_bootstrap_servers, settings.integrations_topic)
    previous = records.get(ns.tenant)
    if previous is None:
        print(json.dumps({"error": "not_connected", "message": "no such tenant"}), file=sys.stderr)
        return 2
    record = asyncio.run(request_recheck(previous, publish=_publisher(settings)))
    print(json.dumps(record.public_view()))
    return 0


def _status(settings: Settings, ns: argparse.Namespace) -> int:
    record = read_records(settings.kafka_bootstrap_servers, settings.integrations_topic).get(
        ns.tenant
    )
    if record is None:
        print(json.dumps({"error": "not_connected", "message": "no such tenant"}), file=sys.stderr)
        return 2
    # The same answer as GET .../integrations/vitally: the audit topic, read whole.
    counts = AuditCounts(
        bootstrap_servers=settings.kafka_bootstrap_servers, topic=settings.audit_topic
    )
    for _, value in read_topic(settings.kafka_bootstrap_servers, settings.audit_topic):
        counts.add(value)
    counts.caught_up.set()
    view = {**record.public_view(), "syncCounts": counts.for_tenant(ns.tenant)}
    print(json.dumps({**view, **counts.attention(ns.tenant)}))
    return 0


def _tenants(settings: Settings, ns: argparse.Namespace) -> int:
    records = read_records(settings.kafka_bootstrap_servers, settings.integrations_topic)
    for record in records.values():
        print(json.dumps(record.public_view()))
    return 0


def _rotate(settings: Settings, ns: argparse.Namespace) -> int:
    box = SecretBox(settings.secrets_key.get_secret_value())
    records = read_records(settings.kafka_bootstrap_servers, settings.integrations_topic)
    stuck: list[str] = []
    for record in records.values():
        try:
            encrypted = box.rotate(record.api_key_encrypted)
        except UndecryptableSecret:
            # Keep going: one tenant whose key was encrypted with a dropped SECRETS_KEY must
            # not stop the others from moving to the new key. It has to reconnect.
            stuck.append(record.tenant_id)
            continue
        rotated = record.model_copy(update={"api_key_encrypted": encrypted})
        publish_record(settings.kafka_bootstrap_servers, settings.integrations_topic, rotated)
    print(json.dumps({"rotated": len(records) - len(stuck), "undecryptable": stuck}))
    return 1 if stuck else 0
