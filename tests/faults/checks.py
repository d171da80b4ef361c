"""What the sandbox holds, measured against what was produced.

* lost: an expected message missing from every sandbox conversation with its conversation's
  externalId;
* duplicates: a conversation externalId held more than once (each extra copy counts one),
  plus a message externalId held more than once anywhere in the org (each extra copy);
* order violations: per sandbox conversation, adjacent pairs of its expected messages whose
  sandbox order differs from produced order;
* extras: conversations or messages the sandbox holds that were never expected there.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.faults.workload import Expected
from tests.fixtures.sandbox import SandboxHandle

SAMPLE = 10


@dataclass(frozen=True)
class SyncCounts:
    expected: int
    found: int
    lost: int
    duplicates: int
    order_violations: int
    extras: int
    samples: dict[str, list[str]] = field(default_factory=dict)
    lost_ids: tuple[str, ...] = ()  # "subdomain/message id", all of them
    duplicate_ids: tuple[str, ...] = ()  # the same, one per extra copy of a message

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicates or self.order_violations or self.extras)

    def describe(self) -> str:
        return (
            f"expected={self.expected} found={self.found} lost={self.lost} "
            f"duplicates={self.duplicates} order_violations={self.order_violations} "
            f"extras={self.extras} samples={self.samples}"
        )


def compare(expected: Expected, state: Mapping[str, list[dict[str, Any]]]) -> SyncCounts:
    """Counts for every tenant: ``state`` maps subdomain -> sandbox.conversations(subdomain)."""
    lost: list[str] = []
    duplicates: list[str] = []
    disorder: list[str] = []
    extras: list[str] = []
    found = 0
    for subdomain, conversations in expected.items():
        held = state.get(subdomain, [])
        by_external: dict[str, list[dict[str, Any]]] = {}
        for conv in held:
            by_external.setdefault(conv["externalId"], []).append(conv)
        for external_id, copies in by_external.items():
            duplicates += [f"{subdomain}/{external_id} (conversation)"] * (len(copies) - 1)
            if external_id not in conversations:
                extras.append(f"{subdomain}/{external_id} (conversation)")
        message_counts = Counter(m["externalId"] for c in held for m in c.get("messages", []))
        for message_id, count in message_counts.items():
            duplicates += [f"{subdomain}/{message_id}"] * (count - 1)
        for conv_id, ids in conversations.items():
            copies = by_external.get(conv_id, [])
            present = {m["externalId"] for c in copies for m in c.get("messages", [])}
            found += sum(1 for i in ids if i in present)
            lost += [f"{subdomain}/{i}" for i in ids if i not in present]
            extras += [f"{subdomain}/{i}" for i in sorted(present - set(ids))]
            rank = {message_id: n for n, message_id in enumerate(ids)}
            for copy in copies:
                disorder += _order_violations(subdomain, copy, rank)
    return SyncCounts(
        expected=sum(len(ids) for convs in expected.values() for ids in convs.values()),
        found=found,
        lost=len(lost),
        duplicates=len(duplicates),
        order_violations=len(disorder),
        extras=len(extras),
        lost_ids=tuple(lost),
        duplicate_ids=tuple(d for d in duplicates if not d.endswith("(conversation)")),
        samples={
            name: items[:SAMPLE]
            for name, items in (
                ("lost", lost),
                ("duplicates", duplicates),
                ("order", disorder),
                ("extras", extras),
            )
            if items
        },
    )


def _order_violations(
    subdomain: str, conversation: dict[str, Any], rank: dict[str, int]
) -> list[str]:
    seen: set[str] = set()
    sequence: list[str] = []
    for m in conversation.get("messages", []):
        message_id = m["externalId"]
        if message_id in rank and message_id not in seen:  # duplicates are counted apart
            seen.add(message_id)
            sequence.append(message_id)
    return [
        f"{subdomain}/{a} before {b}"
        for a, b in zip(sequence, sequence[1:], strict=False)
        if rank[a] > rank[b]
    ]


def sandbox_state(sandbox: SandboxHandle, expected: Expected) -> dict[str, list[dict[str, Any]]]:
    return {subdomain: sandbox.conversations(subdomain) for subdomain in expected}


def measure(sandbox: SandboxHandle, expected: Expected) -> SyncCounts:
    return compare(expected, sandbox_state(sandbox, expected))


def wait_until_synced(
    sandbox: SandboxHandle,
    expected: Expected,
    *,
    timeout: float,
    settled: Callable[[], bool] | None = None,
    on_poll: Callable[[], None] | None = None,
    interval: float = 1.0,
) -> SyncCounts:
    """Poll until nothing is lost and ``settled()`` (e.g. the worker committed everything)
    holds, or until ``timeout``; then measure once more and return the counts.

    ``on_poll`` runs each round (the test's supervisor restarting a dead worker).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if on_poll is not None:
            on_poll()
        counts = measure(sandbox, expected)
        if counts.lost == 0 and (settled is None or settled()):
            break
        time.sleep(interval)
    return measure(sandbox, expected)
