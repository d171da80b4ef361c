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


def in_vitally(
    state: ConversationState | None, offset: int
) -> tuple[ConversationState, str] | SyncResult:
    """The conversation's state and Vitally id, for an event that writes to it; or why there
    is nothing to write to (never synced, or deleted)."""
    if state is None:
        return skipped("conversation_not_synced")
    if state.status == "deleted":
        return skipped("conversation_deleted", state.at_offset(offset))
    if not state.synced or state.vitally_conversation_id is None:
        return skipped("conversation_not_synced", state.at_offset(offset))
    return state, state.vitally_conversation_id
