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


# 9999-12-31T23:59:59.999Z: past it, datetime cannot hold the time.
_MAX_EPOCH_MS = 253_402_300_799_999
# Below this a number counts seconds, not milliseconds: 10^11 ms is March 1973, long before
# any Unthread event, and 10^11 s is the year 5138.
SECONDS_BELOW = 100_000_000_000


def _epoch_ms_or_none(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        ms: float = value
    elif isinstance(value, float):
        ms = value
    elif isinstance(value, str) and value.strip():
        try:
            ms = float(value)
        except ValueError:
            moment = readable_or_none(value)
            return None if moment is None else round(moment.timestamp() * 1000)
    else:
        return None
    if not 0 <= ms <= _MAX_EPOCH_MS:  # also false for NaN
        return None
    return int(ms * 1000 if ms < SECONDS_BELOW else ms)


# An envelope time (eventTimestamp, webhookTimestamp): ms since epoch, documented as a number;
# seconds (a number below SECONDS_BELOW), a numeric string or an ISO time are read too.
# Unreadable or out of range is unknown, so the processors' arithmetic on it can never
# overflow.
EpochMillis = Annotated[int | None, BeforeValidator(_epoch_ms_or_none)]
