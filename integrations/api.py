"""What ``PUT``/``GET``/``DELETE /tenants/{tenantId}/integrations/vitally`` do.

The endpoints, bodies and every error code are described in docs/interfaces.md (HTTP API).

Framework-free, so it is tested without a web server: each method takes the tenant id from the
path (and the body's bytes) and returns an :class:`ApiResponse` or raises :class:`ApiError`.
:mod:`streams.web.tenants` serves it on Faust's web server behind :mod:`streams.web.guard`
(bearer token, body size, every failure as JSON).

=======  ============================  =====================================================
status   ``error``                     when
=======  ============================  =====================================================
200      (none)                        the integration (never its key), its sync counts, its
                                       recent failures and its parked events
400      ``invalid_json``              the body is not JSON
404      ``not_connected``             GET/DELETE of a tenant that never connected
422      ``invalid_request``           the body is not an object, or the tenant id is odd
422      a ``ConnectErrorCode``        a field to fix, or Vitally said no (integrations/validation)
503      ``not_ready``                 the worker has not loaded the integrations yet
503      ``save_failed``               Kafka did not take the record: nothing was saved
=======  ============================  =====================================================
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from integrations.connect import Publish, connect_tenant, disconnect_tenant, request_recheck
from integrations.secrets import SecretBox
from integrations.validation import (
    ConnectError,
    ConnectErrorCode,
    ConnectionProbe,
    UnthreadKeyProbe,
)
from schemas.integration import ConnectRequest, IntegrationRecord

log = logging.getLogger(__name__)

# Tenant ids are Kafka keys and log fields: printable ASCII without spaces, of a sane length.
_TENANT_ID = re.compile(r"^[\x21-\x7e]{1,200}$")

# Each body field's problems get the error code the user-facing form already knows.
_FIELD_CODES: dict[str, ConnectErrorCode] = {
    "subdomain": "invalid_subdomain",
    "apiKey": "invalid_api_key",
    "defaultAdminEmail": "invalid_default_admin_email",
    "region": "invalid_region",
    "backfillSince": "invalid_backfill_since",
    "onConversationDeleted": "invalid_on_conversation_deleted",
    "unthreadUrlTemplate": "invalid_unthread_url_template",
    "onVitallyConversationMissing": "invalid_on_vitally_conversation_missing",
    "importSince": "invalid_import_since",
    "reconcileIntervalSeconds": "invalid_reconcile_interval",
    "syncMessageEdits": "invalid_sync_message_edits",
    "syncMessageDeletions": "invalid_sync_message_deletions",
}
_OPTIONS = {
    "backfill_since": "backfillSince",
    "on_conversation_deleted": "onConversationDeleted",
    "on_vitally_conversation_missing": "onVitallyConversationMissing",
    "unthread_api_key": "unthreadApiKey",
    "unthread_url_template": "unthreadUrlTemplate",
    "import_since": "importSince",
    "reconcile_interval_seconds": "reconcileIntervalSeconds",
    "sync_message_edits": "syncMessageEdits",
    "sync_message_deletions": "syncMessageDeletions",
}
_BODY_HINT = (
    'Send a JSON object: {"subdomain": "acme", "apiKey": "<Basic API key value>", '
    '"defaultAdminEmail": "ops@vendor.example", "region": "us"}.'
)


class ApiError(Exception):
    """An answer other than 200: an HTTP status, a stable snake_case code, what to fix."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class SaveFailed(Exception):
    """The publisher could not make the integration record durable in Kafka."""


@dataclass(frozen=True)
class ApiResponse:
    """A status and a JSON body, for the web layer to send."""

    status: int
    body: dict[str, Any]


class Integrations(Protocol):
    """The worker's integration store (integrations.store.IntegrationStore satisfies it)."""

    ready: asyncio.Event

    def record(self, tenant_id: str) -> IntegrationRecord | None: ...

    def put(self, record: IntegrationRecord) -> None: ...


class Counts(Protocol):
    """Sync counts per tenant (integrations.audit_summary.SummaryCounts satisfies it)."""

    def for_tenant(self, tenant_id: str) -> dict[str, Any]: ...

    def attention(self, tenant_id: str) -> dict[str, Any]: ...


class Walks(Protocol):
    """Imports and reconciliation (integrations.source_walks.WalkStore satisfies it)."""

    def view(self, tenant_id: str) -> dict[str, object]: ...


class TenantApi:
    """Connect, show and disconnect tenants; one instance per worker."""

    def __init__(
        self,
        *,
        integrations: Integrations,
        counts: Counts,
        probe: ConnectionProbe,
        box: SecretBox,
        publish: Publish,
        base_url_override: str | None,
        unthread: UnthreadKeyProbe | None = None,
        unthread_base_url: str | None = None,
        walks: Walks | None = None,
    ) -> None:
        self._walks = walks
        self._unthread = unthread
        self._unthread_base_url = unthread_base_url
        self._integrations = integrations
        self._counts = counts
        self._probe = probe
        self._box = box
        self._publish = publish
        self._override = base_url_override
        # Two PUTs for one tenant on this worker must not both start from the same `previous`.
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def put(self, tenant_id: str, body: bytes) -> ApiResponse:
        _check_tenant_id(tenant_id)
        request = parse_connect_request(body)
        self._require_ready()
        async with self._locks[tenant_id]:
            try:
                record = await connect_tenant(
                    tenant_id=tenant_id,
                    subdomain=request.subdomain,
                    api_key=request.api_key,
                    default_admin_email=request.default_admin_email,
                    region=request.region,
                    previous=self._integrations.record(tenant_id),
                    probe=self._probe,
                    box=self._box,
                    base_url_override=self._override,
                    publish=self._save,
                    unthread=self._unthread,
                    unthread_base_url=self._unthread_base_url,
                    options={
                        camel: getattr(request, name)
                        for name, camel in _OPTIONS.items()
                        if name in request.model_fields_set
                    },
                )
            except ConnectError as exc:
                log.info("connect refused", extra={"tenant": tenant_id, "code": exc.code})
                raise ApiError(422, exc.code, exc.message) from None
        log.info("tenant connected", extra={"tenant": tenant_id, "key": record.key_fingerprint})
        return ApiResponse(200, self._view(record))

    async def get(self, tenant_id: str) -> ApiResponse:
        _check_tenant_id(tenant_id)
        self._require_ready()
        return ApiResponse(200, self._view(self._existing(tenant_id)))

    async def delete(self, tenant_id: str) -> ApiResponse:
        _check_tenant_id(tenant_id)
        self._require_ready()
        async with self._locks[tenant_id]:
            record = self._existing(tenant_id)
            if record.status != "disconnected":
                record = await disconnect_tenant(record, publish=self._save)
                log.info("tenant disconnected", extra={"tenant": tenant_id})
        return ApiResponse(200, self._view(record))

    async def recheck(self, tenant_id: str) -> ApiResponse:
        """``POST .../recheck``: people were added to Vitally; try what waits for them now."""
        _check_tenant_id(tenant_id)
        self._require_ready()
        async with self._locks[tenant_id]:
            record = await request_recheck(self._existing(tenant_id), publish=self._save)
        log.info("re-check of missing people requested", extra={"tenant": tenant_id})
        return ApiResponse(200, self._view(record))

    async def _save(self, record: IntegrationRecord) -> None:
        try:
            await self._publish(record)
        except SaveFailed as exc:
            raise ApiError(
                503, "save_failed", "The integration could not be saved (Kafka did not "
                "acknowledge it); nothing changed. Try again."
            ) from exc  # fmt: skip
        # The tail of the topic will bring the same record; applying it now lets a GET right
        # after this answer (on this worker) see it.
        self._integrations.put(record)

    def _existing(self, tenant_id: str) -> IntegrationRecord:
        record = self._integrations.record(tenant_id)
        if record is None:
            raise ApiError(404, "not_connected", f"Tenant {tenant_id} has no Vitally integration.")
        return record

    def _require_ready(self) -> None:
        if not self._integrations.ready.is_set():
            raise ApiError(
                503, "not_ready", "The worker is still loading integrations; try again shortly."
            )

    def _view(self, record: IntegrationRecord) -> dict[str, Any]:
        body = record.public_view()
        body["syncCounts"] = self._counts.for_tenant(record.tenant_id)
        body.update(self._counts.attention(record.tenant_id))  # recentFailures, parked
        if self._walks is not None:
            body.update(self._walks.view(record.tenant_id))  # import, reconciliation
        return body


def parse_connect_request(body: bytes) -> ConnectRequest:
    """The PUT body as a :class:`ConnectRequest`, or an :class:`ApiError` saying what to fix."""
    try:
        data = json.loads(body)
    # RecursionError: deeply nested arrays are valid JSON that the parser gives up on.
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "The body is not valid JSON. " + _BODY_HINT) from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", "The body must be a JSON object. " + _BODY_HINT)
    try:
        return ConnectRequest.model_validate(data)
    except ValidationError as exc:
        raise _field_error(exc) from None


def _field_error(exc: ValidationError) -> ApiError:
    first = exc.errors(include_input=False, include_url=False)[0]
    field = str(first["loc"][0]) if first["loc"] else "body"
    code = _FIELD_CODES.get(field, "invalid_request")
    if first["type"] == "missing":
        message = f"{field} is required."
    elif first["type"] == "string_too_long":
        message = f"{field} is too long (at most {first['ctx']['max_length']} characters)."
    elif first["type"] == "string_type":
        message = f"{field} must be a string."
    else:
        message = f"{field}: {first['msg']}."
    return ApiError(422, code, f"{message} {_BODY_HINT}")


def _check_tenant_id(tenant_id: str) -> None:
    if not _TENANT_ID.match(tenant_id):
        raise ApiError(
            422, "invalid_request",
            "The tenant id must be 1-200 printable ASCII characters without spaces.",
        )  # fmt: skip
