"""The connect form: its fields, the JSON body it becomes, and where each API error is shown."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# Each connect error code (integrations.validation) next to the field it is about; the rest
# are shown above the form.
FIELD_OF_ERROR: Mapping[str, str] = {
    "invalid_subdomain": "subdomain",
    "invalid_api_key": "apiKey",
    "insufficient_permissions": "apiKey",
    "invalid_default_admin_email": "defaultAdminEmail",
    "default_admin_not_found": "defaultAdminEmail",
    "default_admin_inactive": "defaultAdminEmail",
    "invalid_region": "region",
    "invalid_backfill_since": "backfillSince",
    "invalid_on_conversation_deleted": "onConversationDeleted",
    "invalid_unthread_url_template": "unthreadUrlTemplate",
    "invalid_unthread_api_key": "unthreadApiKey",
    "invalid_on_vitally_conversation_missing": "onVitallyConversationMissing",
    "invalid_import_since": "importSince",
    "invalid_reconcile_interval": "reconcileIntervalSeconds",
    "invalid_sync_message_edits": "syncMessageEdits",
    "invalid_sync_message_deletions": "syncMessageDeletions",
}
# What the product's troubleshooting list asks to check, per field, shown under its error.
CHECK_HINTS: Mapping[str, str] = {
    "subdomain": "Enter the subdomain alone, without .rest.vitally.io.",
    "apiKey": "Paste the Basic API key value without the word Basic; the key must be able to "
    "read Vitally users, admins and conversations.",
    "defaultAdminEmail": "Use the email of an active Vitally admin.",
}
TEXT_FIELDS = (
    "subdomain",
    "defaultAdminEmail",
    "region",
    "onConversationDeleted",
    "onVitallyConversationMissing",
)
SECRET_FIELDS = ("apiKey", "unthreadApiKey")
# Optional settings: empty means "not set" (null), so the form can clear them.
OPTIONAL_FIELDS = (
    "backfillSince",
    "unthreadUrlTemplate",
    "importSince",
    "reconcileIntervalSeconds",
)

# Checkboxes: ticked is on; a form sent without one turns it off.
FLAG_FIELDS = ("syncMessageEdits", "syncMessageDeletions")


def connect_body(form: Mapping[str, str], *, editing: bool) -> bytes:
    """The PUT body for the typed values. An empty Unthread key keeps the saved one."""
    body: dict[str, Any] = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    # A form that never showed it (an older page) leaves the saved choice as it is.
    if not body["onVitallyConversationMissing"]:
        del body["onVitallyConversationMissing"]
    body["apiKey"] = form.get("apiKey", "").strip()
    unthread_key = form.get("unthreadApiKey", "").strip()
    if unthread_key:
        body["unthreadApiKey"] = unthread_key
    elif form.get("removeUnthreadApiKey") == "yes":
        body["unthreadApiKey"] = None
    for name in OPTIONAL_FIELDS:
        value = form.get(name, "").strip()
        if value or editing:
            body[name] = value or None
    for name in FLAG_FIELDS:
        body[name] = form.get(name) == "yes"
    return json.dumps(body).encode()


def shown_values(form: Mapping[str, str]) -> dict[str, str]:
    """What is typed back into a re-shown form: never a key."""
    shown = TEXT_FIELDS + OPTIONAL_FIELDS + FLAG_FIELDS + ("tenantId",)
    return {k: v for k, v in form.items() if k in shown}


def saved_values(view: Mapping[str, Any]) -> dict[str, str]:
    """A saved integration as form values (its keys are never part of the view)."""
    return {
        "subdomain": str(view.get("subdomain") or ""),
        "defaultAdminEmail": str(view.get("defaultAdminEmail") or ""),
        "region": str(view.get("region") or "us"),
        "onConversationDeleted": str(view.get("onConversationDeleted") or "keep"),
        "backfillSince": str(view.get("backfillSince") or ""),
        "unthreadUrlTemplate": str(view.get("unthreadUrlTemplate") or ""),
        "onVitallyConversationMissing": str(view.get("onVitallyConversationMissing") or "skip"),
        "importSince": str(view.get("importSince") or ""),
        "reconcileIntervalSeconds": str(view.get("reconcileIntervalSeconds") or ""),
        **{name: "yes" if view.get(name) else "" for name in FLAG_FIELDS},
    }


def rotation_body(view: Mapping[str, Any], new_key: str) -> bytes:
    """The PUT body that changes only the Vitally key (optional settings left out: kept)."""
    return json.dumps(
        {
            "subdomain": view.get("subdomain"),
            "apiKey": new_key.strip(),
            "defaultAdminEmail": view.get("defaultAdminEmail"),
            "region": view.get("region"),
        }
    ).encode()
