"""Connecting a tenant: Unthread's settings page (subdomain, API key, Default Admin Email).

Input is normalised the way users paste it (``acme.rest.vitally.io`` -> ``acme``, a key with
or without ``Basic ``, or the raw secret token), then checked against Vitally before anything
is saved, with one stable error code per thing the user has to fix:

=============================  ==========================================================
``invalid_subdomain``          not a single DNS label once normalised
``invalid_region``             not ``us`` or ``eu``
``invalid_api_key``            empty, or Vitally answers 401
``insufficient_permissions``   Vitally answers 403 for users, admins or conversations
``invalid_default_admin_email`` not an email address
``default_admin_not_found``    no Vitally admin has that email
``default_admin_inactive``     the admin's licence is not active
``vitally_unreachable``        no answer from Vitally (DNS, connection, timeout, 5xx)
``invalid_backfill_since``     not an ISO 8601 date-time
``invalid_on_conversation_deleted``  not ``keep`` or ``delete``
``invalid_unthread_url_template``    not an http(s) URL naming the conversation by
                                     ``{conversationId}`` or ``{friendlyId}`` (and no other
                                     placeholder)
``invalid_on_vitally_conversation_missing``  not ``skip`` or ``recreate``
``invalid_import_since``       not a date-time, a date or a whole number of days (1-3650),
                               in the future, or given without an Unthread key
``invalid_reconcile_interval``  not 0 (off) or a number of seconds from 10 to 86400, or
                               given without an Unthread key
``invalid_sync_message_edits``  not true or false (the CLI: ``on`` or ``off``)
``invalid_sync_message_deletions``  not true or false (the CLI: ``on`` or ``off``)
=============================  ==========================================================

The optional settings (``backfillSince``, ``onConversationDeleted``,
``unthreadUrlTemplate``, ``onVitallyConversationMissing``, ``syncMessageEdits``,
``syncMessageDeletions``) are checked before
Vitally is asked anything; one left out keeps its saved value, null restores its default.
An ``unthreadApiKey`` is checked against Unthread after Vitally (``invalid_unthread_api_key``,
``unthread_unreachable``); left out it is kept, null removes it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

from processors.direction import normalise_email
from processors.unthread_link import template_problem
from schemas.integration import (
    IntegrationRecord,
    OnConversationDeleted,
    OnVitallyConversationMissing,
)
from schemas.vitally import Page as VitallyPage
from schemas.vitally import VitallyAdmin, VitallyConversationSummary, VitallyUser
from unthread.errors import UnthreadAuthError, UnthreadError
from unthread.target import UnthreadTarget
from vitally.errors import VitallyAuthError, VitallyError, VitallyStatusError
from vitally.target import Region, VitallyTarget, base_url_for, basic_auth_value

ConnectErrorCode = Literal[
    "invalid_subdomain",
    "invalid_region",
    "invalid_api_key",
    "insufficient_permissions",
    "invalid_default_admin_email",
    "default_admin_not_found",
    "default_admin_inactive",
    "vitally_unreachable",
    "invalid_backfill_since",
    "invalid_on_conversation_deleted",
    "invalid_unthread_url_template",
    "invalid_on_vitally_conversation_missing",
    "invalid_unthread_api_key",
    "unthread_unreachable",
    "invalid_import_since",
    "invalid_reconcile_interval",
    "invalid_sync_message_edits",
    "invalid_sync_message_deletions",
]
MAX_IMPORT_DAYS = 3650
MIN_RECONCILE_SECONDS = 10
MAX_RECONCILE_SECONDS = 86_400

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_VITALLY_SUFFIXES = (".rest.vitally.io", ".rest.vitally-eu.io", ".vitally.io", ".vitally-eu.io")
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
T = TypeVar("T")


class ConnectError(Exception):
    """A connect refused: a stable code and what to fix."""

    def __init__(self, code: ConnectErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ConnectionProbe(Protocol):
    """The Vitally calls that prove a key works (the real client satisfies it)."""

    async def list_users(self, target: VitallyTarget, limit: int = 1) -> list[VitallyUser]: ...

    async def find_admin_by_email(
        self, target: VitallyTarget, email: str
    ) -> VitallyAdmin | None: ...

    async def list_conversations(
        self,
        target: VitallyTarget,
        limit: int = 100,
        cursor: str | None = None,
        sort_by: Any = "createdAt",
    ) -> VitallyPage[VitallyConversationSummary]: ...


@dataclass(frozen=True)
class ValidatedIntegration:
    """A connect's settings, normalised and checked against Vitally."""

    subdomain: str
    region: Region
    authorization: str  # the normalised "Basic ..." value: what we store, encrypted
    default_admin_email: str
    default_admin_id: str


def normalise_subdomain(raw: str) -> str:
    """``acme``, ``ACME``, ``acme.rest.vitally.io``, ``https://acme.rest.vitally.io/`` -> ``acme``.

    Anything that is not then a single ASCII DNS label is refused, so no input can steer a
    tenant's key to another host (no dots, ports, "@", "%", paths, or look-alike letters).
    """
    value = raw.strip()
    if not value.isascii():
        raise ConnectError(
            "invalid_subdomain", "The subdomain may only use the letters a-z, digits and hyphens."
        )
    value = _SCHEME.sub("", value.lower()).rstrip("/")
    for suffix in _VITALLY_SUFFIXES:
        if value.endswith(suffix):
            value = value[: -len(suffix)]
            break
    if not _LABEL.match(value):
        raise ConnectError(
            "invalid_subdomain",
            "Enter your Vitally subdomain only: for your-company.rest.vitally.io enter "
            "your-company (letters, digits and hyphens, at most 63).",
        )
    return value


def normalise_region(raw: str | None) -> Region:
    value = (raw or "us").strip().lower()
    if value not in ("us", "eu"):
        raise ConnectError("invalid_region", 'Region must be "us" or "eu".')
    return "us" if value == "us" else "eu"


@dataclass(frozen=True)
class SyncSettings:
    """A tenant's optional settings, as they will be saved."""

    backfill_since: datetime | None = None
    on_conversation_deleted: OnConversationDeleted = "keep"
    unthread_url_template: str | None = None  # None: the default
    on_vitally_conversation_missing: OnVitallyConversationMissing = "skip"
    sync_message_edits: bool = False
    sync_message_deletions: bool = False


@dataclass(frozen=True)
class SourceSettings:
    """The settings that read Unthread's API (import, reconciliation), as they will be saved."""

    import_since: datetime | None = None
    import_generation: int = 0
    import_paused: bool = False
    reconcile_interval_seconds: int = 0


def resolve_source_settings(
    given: Mapping[str, str | int | None],
    previous: IntegrationRecord | None,
    *,
    has_unthread_key: bool,
    now: datetime,
) -> SourceSettings:
    """``importSince`` and ``reconcileIntervalSeconds`` after a PUT (left out: kept; None:
    off). A new ``importSince`` starts a new import generation; both need an Unthread key."""
    since = previous.import_since if previous else None
    generation = previous.import_generation if previous else 0
    paused = previous.import_paused if previous else False
    interval = previous.reconcile_interval_seconds if previous else 0
    if "importSince" in given:
        raw = given["importSince"]
        new = None if raw is None else normalise_import_since(raw, now)
        if new is not None and new != since:
            generation, paused = generation + 1, False
        since = new
    if "reconcileIntervalSeconds" in given:
        raw = given["reconcileIntervalSeconds"]
        interval = 0 if raw is None else normalise_reconcile_interval(raw)
    if not has_unthread_key and (since is not None or interval):
        code: ConnectErrorCode = (
            "invalid_import_since" if since is not None else "invalid_reconcile_interval"
        )
        raise ConnectError(code, "Importing and reconciling read Unthread: set unthreadApiKey.")
    return SourceSettings(since, generation, paused, interval)


def normalise_import_since(raw: str | int, now: datetime) -> datetime:
    """A number of days back from ``now`` (an int or digits), or an ISO date(-time), UTC when
    it names no zone; never in the future."""
    text = str(raw).strip()
    if text.isdigit():
        days = int(text)
        if not 1 <= days <= MAX_IMPORT_DAYS:
            raise ConnectError(
                "invalid_import_since", f"importSince in days must be 1 to {MAX_IMPORT_DAYS}."
            )
        return now - timedelta(days=days)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConnectError(
            "invalid_import_since",
            "importSince must be a number of days (such as 30) or an ISO 8601 date or "
            'date-time (such as "2026-01-01").',
        ) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment > now:
        raise ConnectError("invalid_import_since", "importSince is in the future.")
    return moment


def normalise_reconcile_interval(raw: str | int) -> int:
    text = str(raw).strip()
    seconds = int(text) if text.isdigit() else -1
    if seconds != 0 and not MIN_RECONCILE_SECONDS <= seconds <= MAX_RECONCILE_SECONDS:
        raise ConnectError(
            "invalid_reconcile_interval",
            f"reconcileIntervalSeconds must be 0 (off) or {MIN_RECONCILE_SECONDS} to "
            f"{MAX_RECONCILE_SECONDS}.",
        )
    return seconds


def resolve_settings(
    given: Mapping[str, str | int | None], previous: IntegrationRecord | None
) -> SyncSettings:
    """The optional settings after a PUT that sent ``given`` (camelCase names; a name left
    out keeps the saved value, None restores the default), or :class:`ConnectError`."""
    default = SyncSettings()
    saved = (
        SyncSettings(
            previous.backfill_since,
            previous.on_conversation_deleted,
            previous.unthread_url_template,
            previous.on_vitally_conversation_missing,
            previous.sync_message_edits,
            previous.sync_message_deletions,
        )
        if previous
        else default
    )

    def setting(name: str, kept: T, reset: T, normalise: Callable[[str], T]) -> T:
        if name not in given:
            return kept
        raw = given[name]
        return reset if raw is None else normalise(str(raw))

    return SyncSettings(
        setting(
            "backfillSince", saved.backfill_since, default.backfill_since,
            normalise_backfill_since,
        ),
        setting(
            "onConversationDeleted", saved.on_conversation_deleted,
            default.on_conversation_deleted, normalise_on_conversation_deleted,
        ),
        setting(
            "unthreadUrlTemplate", saved.unthread_url_template, default.unthread_url_template,
            normalise_unthread_url_template,
        ),
        setting(
            "onVitallyConversationMissing", saved.on_vitally_conversation_missing,
            default.on_vitally_conversation_missing, normalise_on_vitally_conversation_missing,
        ),
        setting(
            "syncMessageEdits", saved.sync_message_edits, default.sync_message_edits,
            lambda raw: normalise_switch(raw, "invalid_sync_message_edits", "syncMessageEdits"),
        ),
        setting(
            "syncMessageDeletions", saved.sync_message_deletions,
            default.sync_message_deletions,
            lambda raw: normalise_switch(
                raw, "invalid_sync_message_deletions", "syncMessageDeletions"
            ),
        ),
    )  # fmt: skip


class UnthreadKeyProbe(Protocol):
    """What connecting asks of Unthread (unthread.UnthreadClient in production)."""

    async def validate_key(self, target: UnthreadTarget) -> None: ...


async def validate_unthread_key(
    probe: UnthreadKeyProbe, *, tenant_id: str, api_key: str, base_url_override: str | None
) -> str:
    """The tenant's Unthread key, once Unthread accepted it, or :class:`ConnectError`."""
    key = api_key.strip()
    if not key:
        raise ConnectError(
            "invalid_unthread_api_key", "unthreadApiKey is empty: paste an Unthread API key."
        )
    try:
        await probe.validate_key(UnthreadTarget.for_tenant(tenant_id, key, base_url_override))
    except UnthreadAuthError:
        raise ConnectError(
            "invalid_unthread_api_key",
            "Unthread rejected the unthreadApiKey: create a service-account API key in "
            "Unthread and paste it whole.",
        ) from None
    except UnthreadError:
        raise ConnectError(
            "unthread_unreachable",
            "Unthread did not answer while checking the unthreadApiKey; nothing was saved. "
            "Try again later.",
        ) from None
    return key


def normalise_backfill_since(raw: str) -> datetime:
    """An ISO 8601 date-time (or date), UTC when it names no zone."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ConnectError(
            "invalid_backfill_since",
            'backfillSince must be an ISO 8601 date-time, such as "2026-01-01T00:00:00Z".',
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_SWITCH = {"true": True, "on": True, "false": False, "off": False}


def normalise_switch(raw: str, code: ConnectErrorCode, name: str) -> bool:
    """A setting that is on or off: true or false (the CLI's on or off)."""
    value = _SWITCH.get(raw.strip().lower())
    if value is None:
        raise ConnectError(code, f"{name} must be true or false.")
    return value


def normalise_on_conversation_deleted(raw: str) -> OnConversationDeleted:
    value = raw.strip().lower()
    if value not in ("keep", "delete"):
        raise ConnectError(
            "invalid_on_conversation_deleted", 'onConversationDeleted must be "keep" or "delete".'
        )
    return "keep" if value == "keep" else "delete"


def normalise_unthread_url_template(raw: str) -> str:
    template = raw.strip()
    if problem := template_problem(template):
        raise ConnectError(
            "invalid_unthread_url_template",
            f"unthreadUrlTemplate {problem}, such as "
            '"https://app.unthread.io/dashboard/conversations/{conversationId}".',
        )
    return template


def normalise_on_vitally_conversation_missing(raw: str) -> OnVitallyConversationMissing:
    value = raw.strip().lower()
    if value not in ("skip", "recreate"):
        raise ConnectError(
            "invalid_on_vitally_conversation_missing",
            'onVitallyConversationMissing must be "skip" or "recreate".',
        )
    return "skip" if value == "skip" else "recreate"


async def validate_connection(
    probe: ConnectionProbe,
    *,
    tenant_id: str,
    subdomain: str,
    api_key: str,
    default_admin_email: str,
    region: str | None,
    base_url_override: str | None,
) -> ValidatedIntegration:
    """Normalise the settings and prove them against Vitally, or raise :class:`ConnectError`."""
    label = normalise_subdomain(subdomain)
    zone = normalise_region(region)
    try:
        authorization = basic_auth_value(api_key)
    except ValueError as exc:
        raise ConnectError("invalid_api_key", "Enter your Vitally API key.") from exc
    email = normalise_email(default_admin_email)
    if email is None or len(email) > 254:
        raise ConnectError(
            "invalid_default_admin_email", "The Default Admin Email must be an email address."
        )
    target = VitallyTarget(tenant_id, base_url_for(label, zone, base_url_override), authorization)
    await _check("users", lambda: probe.list_users(target, limit=1))
    admin = await _check("admins", lambda: probe.find_admin_by_email(target, email))
    await _check("conversations", lambda: probe.list_conversations(target, limit=1))
    if admin is None:
        raise ConnectError(
            "default_admin_not_found",
            f"No Vitally admin has the email {email}. Use the email of an admin in Vitally.",
        )
    if not admin.is_active:
        raise ConnectError(
            "default_admin_inactive",
            f"The Vitally admin {email} is not active ({admin.license_status}). "
            "Use an active admin.",
        )
    return ValidatedIntegration(label, zone, authorization, email, admin.id)


async def _check(resource: str, call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except VitallyAuthError as exc:
        if exc.forbidden:
            raise ConnectError(
                "insufficient_permissions",
                f"The API key cannot read Vitally {resource}. Give it access to users, admins "
                "and conversations.",
            ) from exc
        raise ConnectError(
            "invalid_api_key",
            "Vitally rejected the API key. Paste the Basic API key value without the "
            '"Basic" prefix, and check the subdomain.',
        ) from exc
    except VitallyStatusError as exc:
        if exc.transient:
            raise _unreachable() from exc
        raise ConnectError(
            "invalid_subdomain",
            f"Vitally did not recognise this account ({exc.status} on {resource}); "
            "check the subdomain and region.",
        ) from exc
    except VitallyError as exc:
        raise _unreachable() from exc


def _unreachable() -> ConnectError:
    return ConnectError(
        "vitally_unreachable",
        "Vitally could not be reached. Check the subdomain and region, then try again.",
    )
