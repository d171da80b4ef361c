"""What a processor decided for one event; the stream layer turns it into the audit record."""

from __future__ import annotations

from dataclasses import dataclass, replace

from schemas.audit import Outcome, Reason
from schemas.state import ConversationState


@dataclass(frozen=True)
class SyncResult:
    """What a processor decided for one event, and the conversation's state after it."""

    outcome: Outcome
    reason: Reason | None = None
    # The conversation's state after this event; None leaves the table as it is.
    state: ConversationState | None = None
    vitally_conversation_id: str | None = None
    vitally_message_id: str | None = None
    detail: str | None = None


def skipped(
    reason: Reason, state: ConversationState | None = None, detail: str | None = None
) -> SyncResult:
    return SyncResult(
        "skipped",
        reason,
        state=state,
        vitally_conversation_id=state.vitally_conversation_id if state else None,
        detail=detail,
    )


def duplicate(
    reason: Reason, state: ConversationState, vitally_message_id: str | None = None
) -> SyncResult:
    return SyncResult(
        "duplicate",
        reason,
        state=state,
        vitally_conversation_id=state.vitally_conversation_id,
        vitally_message_id=vitally_message_id,
    )


class HandOver(Exception):  # noqa: N818 - a signal to the stream layer, not a failure
    """The worker is stopping or its partitions are moving: this event is left, parked, to the
    partition's next owner rather than held up by more Vitally calls."""


def noted(result: SyncResult, note: str | None) -> SyncResult:
    """``result`` with ``note`` added to its detail (after what the detail said)."""
    if not note:
        return result
    return replace(result, detail=f"{result.detail}; {note}" if result.detail else note)
