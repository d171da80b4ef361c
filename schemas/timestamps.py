"""Timestamps as both sides send them: ISO-8601, with a zone or, meaning UTC, without."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def _as_utc(value: datetime) -> datetime:
    # Unthread sends UTC without a zone; a naive time must never meet an aware one.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


Timestamp = Annotated[datetime, AfterValidator(_as_utc)]
