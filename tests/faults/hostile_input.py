"""Input shapes production brings that are not faults of ours: records compressed with each
codec Kafka has, a cut emoji (a lone surrogate escape) in text and in every envelope field,
JSON nested 100,000 deep, a key and a value near the broker's 1 MiB limit.

Good records stay good (a broken emoji in a message's text is synced, shown as U+FFFD); the
others are each unique and sit in a real conversation's lane, so a worker that stopped, or
held the lane, on one would show as lost or late messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from demo.events import envelope, message

Raw = tuple[bytes | None, bytes | None]
Conversation = tuple[str, str]  # (tenant id, conversation id)

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
LONE = "\ud83d"  # the first half of an emoji, as a producer that cut a string leaves it
DEEP = 100_000
# Near the broker's default 1 MiB (1,048,588-byte) message limit, under it with the rest.
NEAR_LIMIT_BYTES = 1_040_000


@dataclass(frozen=True)
class Hostile:
    """A hostile record and what the worker must make of it."""

    name: str
    key: bytes | None
    value: bytes | None
    dead_letter: bool  # True: failed/invalid_event and a DLQ copy; False: skipped

    @property
    def raw(self) -> Raw:
        return self.key, self.value


def with_cut_emoji(records: Sequence[Raw], every: int) -> list[Raw]:
    """``records`` with a lone surrogate at the end of every ``every``-th message's text:
    still good events, to be synced."""
    out: list[Raw] = []
    for n, (key, value) in enumerate(records):
        event = json.loads(value or b"{}")
        if n % every == 0 and event.get("event") == "message_created":
            event["data"]["text"] += f" {LONE}"
            value = json.dumps(event).encode()  # ensure_ascii: travels as \ud83d
        out.append((key, value))
    return out


def surrogates_in_the_envelope(serial: int, conv: Conversation) -> list[Hostile]:
    """One record per envelope field holding a lone surrogate."""
    tenant, conv_id = conv

    def event(**changes: Any) -> dict[str, Any]:
        body = message(
            conv_id, f"hostile {serial}", message_id=f"hostile-{serial}", sender="x@y.example",
            external=True,
        )  # fmt: skip
        body.update(changes.pop("data", {}))
        return {**envelope(tenant, "message_created", body), **changes}

    def dump(value: dict[str, Any]) -> bytes:
        return json.dumps(value).encode()

    key = conv_id.encode()
    return [
        Hostile("tenantId", key, dump(event(tenantId=f"{tenant}{LONE}")), True),
        Hostile("eventId", key, dump(event(eventId=f"e{serial}{LONE}")), True),
        Hostile("message id", key, dump(event(data={"id": f"hostile-{serial}{LONE}"})), True),
        Hostile(
            "conversation id", key, dump(event(data={"conversationId": f"{conv_id}{LONE}"})), True
        ),
        # A surrogate encoded in the key's bytes (CESU-8): not UTF-8, names no conversation.
        Hostile("key", key + b"\xed\xa0\xbd", dump(event()), True),
        # An event type nobody sends: skipped as unsupported, not an error.
        Hostile("event", key, dump(event(event=f"message_created{LONE}")), False),
    ]


def deeply_nested(serial: int, conv: Conversation) -> Hostile:
    tenant, conv_id = conv
    value = (
        f'{{"tenantId": "{tenant}", "n": {serial}, "data": '.encode()
        + b"[" * DEEP
        + b"]" * DEEP
        + b"}"
    )
    return Hostile("nested 100,000 deep", conv_id.encode(), value, True)


def near_the_limit(serial: int, conv: Conversation) -> list[Hostile]:
    """A value and a key each near the broker's message limit."""
    tenant, conv_id = conv
    body = message(conv_id, "x", message_id=f"big-{serial}", sender="x@y.example", external=True)
    small = json.dumps(envelope(tenant, "message_created", body)).encode()
    body["text"] = "x" * (NEAR_LIMIT_BYTES - len(small))
    big = json.dumps(envelope(tenant, "message_created", body)).encode()
    return [
        Hostile("value near 1 MiB", conv_id.encode(), big, True),
        Hostile(
            "key near 1 MiB", conv_id.encode() * (NEAR_LIMIT_BYTES // len(conv_id)), small, True
        ),
    ]


def interleave(good: Sequence[Raw], hostile: Sequence[Hostile]) -> list[Raw]:
    """The hostile records spread evenly between the good ones."""
    out = list(good)
    step = max(1, len(good) // (len(hostile) + 1))
    for n, record in enumerate(hostile):
        out.insert((n + 1) * step + n, record.raw)
    return out
