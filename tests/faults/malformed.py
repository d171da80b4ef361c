"""Records the worker must reject (DLQ + failed/invalid_event audit) without stopping.

Each is unique (a serial number in it), and most carry the key of a real conversation of the
workload, so they sit in that conversation's lane between its good events. The ones that look
almost right (no key, oversized, key mismatch) name a real tenant and conversation and a
fresh message id: had the worker accepted one, the sandbox would show it as an extra.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from demo.events import envelope, message

Raw = tuple[bytes | None, bytes | None]
Conversation = tuple[str, str]  # (tenant id, conversation id)


def malformed_records(
    count: int, conversations: Sequence[Conversation], *, max_bytes: int
) -> list[Raw]:
    kinds: list[Callable[[int, Conversation, Conversation], Raw]] = [
        _not_json,
        _json_array,
        _no_tenant,
        _message_without_id,
        _wrong_types,
        _no_key,
        lambda n, c, o: _oversized(n, c, max_bytes),
        _key_mismatch,
    ]
    records = []
    for n in range(count):
        conv = conversations[n % len(conversations)]
        other = conversations[(n + 1) % len(conversations)]
        records.append(kinds[n % len(kinds)](n, conv, other))
    return records


def _event(tenant: str, conv: str, n: int, **extra: Any) -> dict[str, Any]:
    body = message(conv, f"bad {n}", message_id=f"bad-{n}", sender="x@y.example", external=True)
    body.update(extra)
    return envelope(tenant, "message_created", body)


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()


def _not_json(n: int, conv: Conversation, other: Conversation) -> Raw:
    return conv[1].encode(), f'{{"tenantId": "{conv[0]}", broken {n}'.encode()


def _json_array(n: int, conv: Conversation, other: Conversation) -> Raw:
    return conv[1].encode(), _dump([n, "not an object"])


def _no_tenant(n: int, conv: Conversation, other: Conversation) -> Raw:
    event = _event(*conv, n)
    del event["tenantId"]
    return conv[1].encode(), _dump(event)


def _message_without_id(n: int, conv: Conversation, other: Conversation) -> Raw:
    event = _event(*conv, n)
    del event["data"]["id"]
    return conv[1].encode(), _dump(event)


def _wrong_types(n: int, conv: Conversation, other: Conversation) -> Raw:
    event = _event(*conv, n)
    if n % 2:
        event["eventTimestamp"] = f"yesterday {n}"
    else:
        event["data"]["id"] = n  # a number where Unthread sends a string
    return conv[1].encode(), _dump(event)


def _no_key(n: int, conv: Conversation, other: Conversation) -> Raw:
    return None, _dump(_event(*conv, n))


def _oversized(n: int, conv: Conversation, max_bytes: int) -> Raw:
    return conv[1].encode(), _dump(_event(*conv, n, text="x" * (max_bytes + 100)))


def _key_mismatch(n: int, conv: Conversation, other: Conversation) -> Raw:
    return other[1].encode(), _dump(_event(*conv, n))
