"""Connect, reconnect and disconnect a tenant: one flow for the HTTP API and the CLI.

Validation happens against Vitally before anything is written; the record that is written
holds the API key only encrypted. Workers pick the change up from the integrations topic.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Literal

from integrations.secrets import SecretBox, fingerprint
from integrations.validation import (
    ConnectionProbe,
    UnthreadKeyProbe,
    resolve_settings,
    resolve_source_settings,
    validate_connection,
    validate_unthread_key,
)
from schemas.integration import IntegrationRecord

Publish = Callable[[IntegrationRecord], Awaitable[None]]


async def connect_tenant(
    *,
    tenant_id: str,
    subdomain: str,
    api_key: str,
    default_admin_email: str,
    region: str | None,
    previous: IntegrationRecord | None,
    probe: ConnectionProbe,
    box: SecretBox,
    base_url_override: str | None,
    publish: Publish,
    now: datetime | None = None,
    options: Mapping[str, str | int | None] | None = None,
    unthread: UnthreadKeyProbe | None = None,
    unthread_base_url: str | None = None,
) -> IntegrationRecord:
    """Validate and save a tenant's integration. ``options``: the optional settings the
    caller sent, by their camelCase names (left out: keep the saved value; None: default).
    ``unthread`` checks an ``unthreadApiKey`` among them against Unthread."""
    options = options or {}
    settings = resolve_settings(options, previous)
    valid = await validate_connection(
        probe,
        tenant_id=tenant_id,
        subdomain=subdomain,
        api_key=api_key,
        default_admin_email=default_admin_email,
        region=region,
        base_url_override=base_url_override,
    )
    unthread_key = (
        previous.unthread_api_key_encrypted,
        previous.unthread_key_fingerprint,
    ) if previous is not None else (None, None)  # fmt: skip
    if options.get("unthreadApiKey") is not None:
        if unthread is None:
            raise ValueError("an unthreadApiKey needs an Unthread client to check it")
        key = await validate_unthread_key(
            unthread,
            tenant_id=tenant_id,
            api_key=str(options["unthreadApiKey"] or ""),
            base_url_override=unthread_base_url,
        )
        unthread_key = (box.encrypt(key), fingerprint(key))
    elif "unthreadApiKey" in options:
        unthread_key = (None, None)  # null: the tenant no longer gives us an Unthread key
    at = now or datetime.now(UTC)
    source = resolve_source_settings(
        options, previous, has_unthread_key=unthread_key[0] is not None, now=at
    )
    # Changing settings of a live integration keeps its start; a new connection starts now,
    # so conversations from while it was disconnected are not backfilled.
    still_connected = previous is not None and previous.status != "disconnected"
    record = IntegrationRecord(
        tenant_id=tenant_id,
        status="connected",
        subdomain=valid.subdomain,
        region=valid.region,
        default_admin_email=valid.default_admin_email,
        api_key_encrypted=box.encrypt(valid.authorization),
        key_fingerprint=fingerprint(valid.authorization),
        connected_at=previous.connected_at if still_connected and previous else at,
        updated_at=at,
        backfill_since=settings.backfill_since,
        on_conversation_deleted=settings.on_conversation_deleted,
        unthread_url_template=settings.unthread_url_template,
        on_vitally_conversation_missing=settings.on_vitally_conversation_missing,
        sync_message_edits=settings.sync_message_edits,
        sync_message_deletions=settings.sync_message_deletions,
        unthread_api_key_encrypted=unthread_key[0],
        unthread_key_fingerprint=unthread_key[1],
        import_since=source.import_since,
        import_generation=source.import_generation,
        import_paused=source.import_paused,
        reconcile_interval_seconds=source.reconcile_interval_seconds,
    )
    await publish(record)
    return record


ImportAction = Literal["pause", "resume", "restart"]


async def control_import(
    previous: IntegrationRecord,
    action: ImportAction,
    *,
    publish: Publish,
    now: datetime | None = None,
) -> IntegrationRecord:
    """Pause, resume or restart (from the start, a new generation) the tenant's import."""
    if previous.import_since is None:
        raise ValueError("the tenant has no importSince: connect with one first")
    update: dict[str, object] = {"updated_at": now or datetime.now(UTC)}
    if action == "restart":
        update |= {"import_generation": previous.import_generation + 1, "import_paused": False}
    else:
        update["import_paused"] = action == "pause"
    record = previous.model_copy(update=update)
    await publish(record)
    return record


async def request_recheck(
    previous: IntegrationRecord, *, publish: Publish, now: datetime | None = None
) -> IntegrationRecord:
    """Ask every worker to try the tenant's events that wait for missing people at once, and
    to forget who it found missing (people were added to Vitally)."""
    at = now or datetime.now(UTC)
    record = previous.model_copy(update={"recheck_requested_at": at, "updated_at": at})
    await publish(record)
    return record


async def disconnect_tenant(
    previous: IntegrationRecord, *, publish: Publish, now: datetime | None = None
) -> IntegrationRecord:
    record = previous.model_copy(
        update={"status": "disconnected", "updated_at": now or datetime.now(UTC)}
    )
    await publish(record)
    return record
