"""The audit record's JSON Schema, for the consumers of the audit topic.

``python -m schemas.audit_schema > docs/audit-record.schema.json`` regenerates the committed
copy; a test fails when the copy and :class:`schemas.audit.AuditRecord` drift apart.
"""

from __future__ import annotations

import json
from typing import Any

from schemas.audit import AuditRecord

REGENERATE = "python -m schemas.audit_schema > docs/audit-record.schema.json"


def audit_record_schema() -> dict[str, Any]:
    # Serialisation mode: the schema describes what is on the topic, as consumers read it.
    schema = AuditRecord.model_json_schema(by_alias=True, mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render() -> str:
    return json.dumps(audit_record_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
