"""Forgetting finished conversations: the conversations table must not grow forever.

A conversation is finished when it was deleted, or closed in Unthread, and nothing of it
waits (:attr:`schemas.state.ConversationState.finished`). Its entry is pruned once untouched
for :attr:`PrunePolicy.after_ms`, which is never shorter than the input topic can still hold
one of its records: Kafka keeps a record for ``retention.ms`` after its segment is closed,
and a segment stays open up to ``segment.ms``. Until then a replay, a redelivery or a
re-drive finds the entry and is answered ``duplicate``; after it, none of the
conversation's records can be read again, so the entry has nothing left to recognise. An
input topic kept forever (``retention.ms`` -1) is never pruned.

Tables can only be written while a record is handled, so pruning goes as wake-ups do: a
timer looks for candidates and sends each a retry record marked :data:`PRUNE`, and the
agent deletes the entry in the conversation's lane, after checking again that it is still
finished and untouched (an event may have come in between).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from schemas.state import ConversationState

# The header that makes a retry record a request to prune its conversation.
PRUNE_HEADER = "x-retry-kind"
PRUNE = b"prune"

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class PrunePolicy:
    """When a finished conversation's entry may go; ``after_ms`` None: never."""

    after_ms: int | None

    @classmethod
    def of(
        cls, *, after_days: float, retention_ms: int | None, segment_ms: int | None
    ) -> PrunePolicy:
        """``after_days`` (0: never), but no sooner than the input topic can hold a record
        (``retention_ms`` None: forever)."""
        if after_days <= 0 or retention_ms is None:
            return cls(None)
        return cls(max(int(after_days * DAY_MS), retention_ms + (segment_ms or 0)))

    def due(self, state: ConversationState, now_ms: int) -> bool:
        return (
            self.after_ms is not None
            and state.finished
            and state.touched_at is not None
            and state.partition is not None
            and now_ms - state.touched_at >= self.after_ms
        )


def is_prune(headers: Sequence[tuple[str, bytes]]) -> bool:
    return (PRUNE_HEADER, PRUNE) in headers


class PrunableStates(Protocol):
    def get(self, key: str) -> ConversationState | None: ...

    def delete(self, key: str) -> None: ...


def forget_if_due(
    states: PrunableStates, key: str, policy: PrunePolicy, now_ms: int
) -> ConversationState | None:
    """Delete ``key``'s entry if it is still due (what was deleted), when a prune record is
    handled: an event may have touched or reopened the conversation since the scan."""
    state = states.get(key)
    if state is None or not policy.due(state, now_ms):
        return None
    states.delete(key)
    return state
