"""Audit records as the tools read them back off the topic.

The topic holds what every version of the worker wrote: records from before ``schemaVersion``,
and, once a newer worker runs, reasons this version does not know. :class:`AuditEntry` is a
lenient read of the fields the tools use (plain strings where
:class:`schemas.audit.AuditRecord` has closed vocabularies), so no record is dropped from a
count or a trail for a code added later. What is not an audit record at all is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from ops.reader import RawRecord


class AuditEntry(BaseModel):
    """The fields of an audit record that counts and trails show."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )

    schema_version: int = 1
    tenant_id: str | None = None
    conversation_id: str | None = None
    message_id: str | None = None
    event: str | None = None
    outcome: str
    reason: str | None = None
    detail: str | None = None
    processed_at: int | None = None


@dataclass(frozen=True)
class ReadEntry:
    """An audit entry and where it was read: its time is ``processedAt``, else Kafka's."""

    entry: AuditEntry
    partition: int
    offset: int
    kafka_timestamp: int | None

    @property
    def time(self) -> int | None:
        return (
            self.entry.processed_at if self.entry.processed_at is not None else self.kafka_timestamp
        )


def parse_entry(value: bytes | None) -> AuditEntry | None:
    """The entry in `value`; None for anything that is not an audit record."""
    if not value:
        return None
    try:
        return AuditEntry.model_validate_json(value)
    except ValidationError:
        return None


def read_entries(records: Iterable[RawRecord], *, key: bytes | None = None) -> Iterator[ReadEntry]:
    """The audit entries among `records` (only those keyed `key`, when given)."""
    for record in records:
        # The key is compared before any JSON is parsed: most records are someone else's.
        if key is not None and record.key != key:
            continue
        entry = parse_entry(record.value)
        if entry is not None:
            yield ReadEntry(entry, record.partition, record.offset, record.timestamp)
