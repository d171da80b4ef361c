"""Timestamps as both sides send them: ISO-8601, with a zone or, meaning UTC, without."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, TypeAdapter, ValidationError


def _as_utc(value: datetime) -> datetime:
    # Unthread sends UTC without a zone; a naive time must never meet an aware one.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


Timestamp = Annotated[datetime, AfterValidator(_as_utc)]


_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(Timestamp)


def readable_or_none(value: object) -> datetime | None:
    """The time ``value`` names, or None when it names none (null or unreadable)."""
    try:
        return _TIMESTAMP.validate_python(value) if value is not None else None
    except ValidationError:
        return None


# A time that only informs (the createdAt of a listed record): unreadable is unknown, so one
# odd value from another source cannot make a whole page of a list unreadable.
LenientTimestamp = Annotated[datetime | None, BeforeValidator(readable_or_none)]
