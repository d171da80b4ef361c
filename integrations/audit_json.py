"""An audit record as the tailing reader of recent activity (:mod:`integrations.activity`)
takes it off the topic: leniently, as a JSON object with a tenant and an outcome; anything
else is skipped (the audit is not its to fix). The sync counts are not read off the audit
topic: the worker that writes a record counts it (:mod:`integrations.audit_summary`)."""

from __future__ import annotations

import json
from typing import Any


def audit_fields(value: bytes | None) -> tuple[dict[str, Any], str, str] | None:
    """The record, its ``tenantId`` and its ``outcome``; None when it is not an audit record."""
    try:
        record = json.loads(value or b"")
    # RecursionError: deeply nested arrays are valid JSON that the parser gives up on.
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    tenant, outcome = record.get("tenantId"), record.get("outcome")
    if not isinstance(tenant, str) or not isinstance(outcome, str):
        return None
    return record, tenant, outcome
