"""Vitally-style list pages: newest first by `createdAt` or `updatedAt`, opaque `next` cursors.

Cursors are keyset positions (sort value and creation sequence of the last item), not
offsets, so a record updated while a client pages moves instead of shifting every page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from sandboxkit.errors import bad_request

T = TypeVar("T")
SortBy = Literal["createdAt", "updatedAt"]
MAX_LIMIT = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None


def parse_limit(text: str | None) -> int:
    """`limit` defaults to 100 and is capped there, as Vitally documents."""
    if text is None:
        return MAX_LIMIT
    try:
        limit = int(text)
    except ValueError as exc:
        raise bad_request("limit must be an integer") from exc
    if limit < 1:
        raise bad_request("limit must be at least 1")
    return min(limit, MAX_LIMIT)


def parse_sort_by(text: str | None) -> SortBy:
    if text is None or text == "updatedAt":
        return "updatedAt"
    if text == "createdAt":
        return "createdAt"
    raise bad_request("sortBy must be createdAt or updatedAt")


def paginate(
    records: Iterable[T],
    *,
    key: Callable[[T], tuple[float, int]],
    sort_by: SortBy,
    limit: int,
    cursor: str | None,
) -> Page[T]:
    ordered = sorted(records, key=key, reverse=True)
    if cursor is not None:
        after = _decode(cursor, sort_by)
        ordered = [r for r in ordered if key(r) < after]
    items = ordered[:limit]
    more = len(ordered) > limit
    return Page(items, _encode(sort_by, key(items[-1])) if more else None)


def _encode(sort_by: SortBy, position: tuple[float, int]) -> str:
    raw = json.dumps({"sortBy": sort_by, "after": list(position)}).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode(cursor: str, sort_by: SortBy) -> tuple[float, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        value, seq = data["after"]
        if data["sortBy"] != sort_by:
            raise bad_request("cursor belongs to another sortBy")
        return float(value), int(seq)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise bad_request("invalid cursor") from exc
