"""Unthread's list endpoints: `POST /<object>/list` with filters, order and cursors.

Request: `{select?, order?, where?: [{field, operator, value}], limit? (<= 100), descending?,
cursor?}`. Answer: `{data, totalCount, cursors: {hasNext, hasPrevious, next?, previous?}}`.
Cursors are opaque to clients; here they carry the offset and a digest of the query, so a
cursor used with another query is refused (400) rather than silently paging something else.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sandboxkit.errors import ApiError, bad_request

Operator = Literal["==", "!=", ">", "<", "in", "notIn", "contains", "notContains", "like"]
MAX_LIMIT = 100
DEFAULT_LIMIT = 100


class Condition(BaseModel):
    """One `where` entry: `field operator value`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1)
    operator: Operator
    value: Any = None


class ListRequest(BaseModel):
    """The body of `POST /<object>/list`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    select: list[str] | None = None
    order: list[str] | None = None
    where: list[Condition] = Field(default_factory=list)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    descending: bool = False
    cursor: str | None = None

    def digest(self) -> str:
        query = self.model_dump(mode="json", exclude={"cursor", "limit"})
        return hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:12]


def list_page(records: Iterable[dict[str, Any]], request: ListRequest) -> dict[str, Any]:
    """One page of `records` filtered, ordered and projected as `request` asks."""
    matching = [r for r in records if all(_holds(c, r) for c in request.where)]
    order = request.order or ["id"]
    matching.sort(key=lambda r: tuple(_sort_key(r.get(name)) for name in order))
    if request.descending:
        matching.reverse()
    start = _offset(request)
    end = start + request.limit
    cursors: dict[str, Any] = {"hasNext": end < len(matching), "hasPrevious": start > 0}
    if cursors["hasNext"]:
        cursors["next"] = _cursor(end, request)
    if cursors["hasPrevious"]:
        cursors["previous"] = _cursor(max(0, start - request.limit), request)
    return {
        "data": [_project(r, request.select) for r in matching[start:end]],
        "totalCount": len(matching),
        "cursors": cursors,
    }


def _holds(condition: Condition, record: dict[str, Any]) -> bool:
    actual, wanted = record.get(condition.field), condition.value
    match condition.operator:
        case "==":
            return bool(actual == wanted)
        case "!=":
            return bool(actual != wanted)
        case ">" | "<":
            return _compare(actual, wanted, condition.operator)
        case "in" | "notIn":
            if not isinstance(wanted, list):
                raise bad_request(f"where: {condition.operator} needs a list value")
            return (actual in wanted) == (condition.operator == "in")
        case "contains" | "notContains":
            found = _contains(actual, wanted)
            return found == (condition.operator == "contains")
        case "like":
            pattern = str(wanted).replace("%", "*").replace("_", "?")
            return isinstance(actual, str) and fnmatch.fnmatchcase(actual, pattern)


def _compare(actual: Any, wanted: Any, operator: str) -> bool:
    # Times (`createdAt`, `updatedAt`) compare as instants, whatever their ISO spelling.
    actual, wanted = _instant(actual), _instant(wanted)
    try:
        return bool(actual > wanted) if operator == ">" else bool(actual < wanted)
    except TypeError:
        return False


def _instant(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return value


def _contains(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, list):
        return wanted in actual
    return isinstance(actual, str) and isinstance(wanted, str) and wanted in actual


def _sort_key(value: Any) -> tuple[int, float, str]:
    # Missing first, then numbers by value, then text, then anything else by its JSON: a
    # total order over mixed types that still sorts 9 before 10.
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, float(value), "")
    if isinstance(value, str):
        return (2, 0.0, value)
    return (3, 0.0, json.dumps(value, sort_keys=True))


def _project(record: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    if not select:
        return dict(record)
    return {name: record.get(name) for name in select}


def _cursor(offset: int, request: ListRequest) -> str:
    raw = json.dumps({"o": offset, "q": request.digest()}).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _offset(request: ListRequest) -> int:
    if request.cursor is None:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(request.cursor.encode("ascii")))
        offset, digest = decoded["o"], decoded["q"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeEncodeError) as exc:
        raise _bad_cursor() from exc
    if not isinstance(offset, int) or offset < 0 or digest != request.digest():
        raise _bad_cursor()
    return offset


def _bad_cursor() -> ApiError:
    return bad_request("cursor is not one this query returned")
