"""Correctness checks and latency figures, computed from what arrived (no I/O in here).

Against Vitally (the sandbox's stored conversations) for the systems that write there:

* **order violations**: within a conversation, a message stored right after one that was
  produced later (adjacent pairs out of produced order, counting each message's first copy);
* **duplicates**: a second conversation with the same ``externalId``, and every extra copy of
  a message ``externalId`` within a conversation (all copies of it taken together);
* **lost**: a produced message that no stored conversation holds.

Against the audit topic for the pass-through agent, which writes nowhere else: the same three
on ``messageId``, with "duplicate" meaning a second audit record for one input record.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StoredMessage:
    external_id: str
    received_at: float  # unix seconds, the sandbox's clock


@dataclass(frozen=True)
class StoredConversation:
    external_id: str
    messages: tuple[StoredMessage, ...]


@dataclass(frozen=True)
class CheckResult:
    order_violations: int
    duplicates: int
    lost: int

    @property
    def clean(self) -> bool:
        return self.order_violations == self.duplicates == self.lost == 0


def parse_stored(raw: Iterable[Mapping[str, Any]]) -> list[StoredConversation]:
    """The control API's conversations (with ``receivedAt`` on each message)."""
    return [
        StoredConversation(
            external_id=str(conversation["externalId"]),
            messages=tuple(
                StoredMessage(str(m["externalId"]), parse_time(str(m["receivedAt"])))
                for m in conversation.get("messages", [])
            ),
        )
        for conversation in raw
    ]


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def check_stored(
    expected: Mapping[str, Sequence[str]], stored: Iterable[StoredConversation]
) -> CheckResult:
    """``expected``: conversation externalId -> its message externalIds in produced order."""
    copies: dict[str, list[StoredConversation]] = {}
    for conversation in stored:
        copies.setdefault(conversation.external_id, []).append(conversation)
    order = duplicates = lost = 0
    for conversation_id, wanted in expected.items():
        found = copies.get(conversation_id, [])
        duplicates += max(0, len(found) - 1)
        seen = Counter(m.external_id for copy in found for m in copy.messages)
        duplicates += sum(n - 1 for n in seen.values())
        lost += sum(1 for message_id in wanted if message_id not in seen)
        rank = {message_id: i for i, message_id in enumerate(wanted)}
        for copy in found:
            order += out_of_order([m.external_id for m in copy.messages], rank)
    return CheckResult(order, duplicates, lost)


def check_audit(
    expected: Mapping[str, Sequence[str]], audits: Sequence[Mapping[str, Any]]
) -> CheckResult:
    """The same checks on audit records, in the order they were read from the topic.

    All records of a conversation share a key and so a partition, so their order on the audit
    topic is the order the system finished them in.
    """
    sources = Counter(_source(a) for a in audits)
    duplicates = sum(n - 1 for n in sources.values())
    by_conversation: dict[str, list[str]] = {}
    for audit in audits:
        conversation_id, message_id = audit.get("conversationId"), audit.get("messageId")
        if isinstance(conversation_id, str) and isinstance(message_id, str):
            by_conversation.setdefault(conversation_id, []).append(message_id)
    order = lost = 0
    for conversation_id, wanted in expected.items():
        got = by_conversation.get(conversation_id, [])
        lost += len(set(wanted) - set(got))
        order += out_of_order(got, {message_id: i for i, message_id in enumerate(wanted)})
    return CheckResult(order, duplicates, lost)


def out_of_order(sequence: Sequence[str], rank: Mapping[str, int]) -> int:
    """Adjacent pairs whose produced order is reversed; ids not in ``rank`` and repeats are
    skipped (repeats are counted as duplicates, not as order violations)."""
    ranks: list[int] = []
    seen: set[str] = set()
    for item in sequence:
        if item in rank and item not in seen:
            seen.add(item)
            ranks.append(rank[item])
    return sum(1 for before, after in zip(ranks, ranks[1:], strict=False) if after < before)


def write_latencies_ms(
    produced_at: Mapping[str, float], stored: Iterable[StoredConversation]
) -> list[float]:
    """Per produced message: its first write in the sandbox minus its event timestamp."""
    first: dict[str, float] = {}
    for conversation in stored:
        for m in conversation.messages:
            if m.external_id in produced_at:
                first[m.external_id] = min(first.get(m.external_id, math.inf), m.received_at)
    return [(at - produced_at[mid]) * 1000 for mid, at in first.items()]


def audit_latencies_ms(audits: Iterable[Mapping[str, Any]]) -> list[float]:
    """Per audit record: processedAt minus eventTimestamp (both ms)."""
    return [
        float(a["processedAt"]) - float(a["eventTimestamp"])
        for a in audits
        if isinstance(a.get("processedAt"), int | float)
        and isinstance(a.get("eventTimestamp"), int | float)
    ]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[min(index, len(ordered) - 1)]


def _source(audit: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    source = audit.get("source") or {}
    return source.get("topic"), source.get("partition"), source.get("offset")
