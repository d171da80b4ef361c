"""A conversation's waiting events, one per entry of the waiting table.

The conversations table keeps only where they are (:class:`schemas.state.WaitingQueue`:
the queue's head and tail, the aside list); each event is its own entry, keyed by the
conversation and a sequence number. Parking the n-th event of a busy thread writes that event
and the conversation's small entry, never the n-1 before it, so a thread of any length waits
in O(n) bytes of changelog and no table value grows with the thread.

A third kind of entry marks which input record waits where (``key@topic/partition/offset``),
so a redelivered record is recognised as already waiting without reading the queue. A mark
is trusted only when the conversation's entry still lists its slot: a mark left behind by a
crash between two writes never hides a record.

Every write is made in the record's own task (inside stream iteration), so it goes to the
changelog partition of the record, which is the conversation's (input and retry topics are
co-partitioned by conversation), and the agent awaits it before the ack like any other
table write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from schemas.kafka_limits import PRODUCER_MAX_REQUEST_BYTES, record_bytes
from schemas.state import ConversationState, ParkedEvent, WaitingQueue

Kind = Literal["q", "a"]


class EventEntries(Protocol):
    """The waiting table: str keys, raw values."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes) -> None: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class Slot:
    """A waiting event and where it is: in the queue (``q``) or aside (``a``)."""

    kind: Kind
    seq: int
    event: ParkedEvent

    @property
    def source(self) -> tuple[str, int, int]:
        return (self.event.topic, self.event.partition, self.event.offset)


def entry_key(key: str, kind: Kind, seq: int) -> str:
    return f"{key}#{kind}{seq}"


def mark_key(key: str, source: tuple[str, int, int]) -> str:
    topic, partition, offset = source
    return f"{key}@{topic}/{partition}/{offset}"


class WaitingEvents:
    """Reads and writes a conversation's waiting events; returns the conversation's entry as
    it must be written next (the caller writes it)."""

    def __init__(self, entries: EventEntries) -> None:
        self._entries = entries

    def head(self, key: str, state: ConversationState) -> Slot | None:
        queue = state.queue
        return self._slot(key, "q", queue.head) if queue.queued else None

    def queued(self, key: str, state: ConversationState) -> list[Slot]:
        """The whole queue, in order (reads every entry: for inspection, not the hot path)."""
        queue = state.queue
        slots = (self._slot(key, "q", seq) for seq in range(queue.head, queue.tail))
        return [slot for slot in slots if slot is not None]

    def aside(self, key: str, state: ConversationState) -> list[Slot]:
        slots = (self._slot(key, "a", seq) for seq in state.queue.aside)
        return [slot for slot in slots if slot is not None]

    def candidates(self, key: str, state: ConversationState) -> list[Slot]:
        """What can run next: the queue's head, and every message set aside."""
        head = self.head(key, state)
        return [*([head] if head is not None else []), *self.aside(key, state)]

    def parks(self, key: str, state: ConversationState, source: tuple[str, int, int]) -> bool:
        if state.queue.empty:
            return False  # the hot path: nothing waits, nothing to read
        mark = self._entries.get(mark_key(key, source))
        if mark is None:
            return False
        kind, seq = mark[:1].decode(), int(mark[1:])
        queue = state.queue
        listed = queue.head <= seq < queue.tail if kind == "q" else seq in queue.aside
        return listed

    def enqueue(
        self,
        key: str,
        state: ConversationState,
        event: ParkedEvent,
        head: Slot | None,
        *,
        front: bool = False,
    ) -> ConversationState:
        """``event`` waits in the queue: in the head's place when it is the head parked again,
        before the head when ``front`` (a create that what waits needs), else at the tail."""
        if head is not None and head.kind == "q":
            self._store(key, "q", head.seq, event, marked=True)
            return state
        if head is not None:
            state = self.remove(key, state, head)
        if front and state.queue.queued:
            queue = state.queue.pushed_front()
            self._store(key, "q", queue.head, event)
            return state.with_queue(queue)
        self._store(key, "q", state.queue.tail, event)
        return state.with_queue(state.queue.pushed())

    @staticmethod
    def fits(key: str, event: ParkedEvent) -> bool:
        """Whether ``event``'s entry fits one changelog record. The record is kept as a JSON
        string, so each quote and backslash in it takes two bytes: a record above about half
        the producer's limit may not."""
        entry = entry_key(key, "q", 0).encode()
        value = event.model_dump_json(by_alias=True).encode()
        # Room for the longest sequence number the entry's key may get.
        return record_bytes(entry + b"0" * 20, value) <= PRODUCER_MAX_REQUEST_BYTES

    def due_now(self, key: str, slot: Slot, now_ms: int) -> None:
        """What ``slot`` waited for happened: it is due at once (the index reads its time)."""
        event = slot.event.model_copy(update={"next_attempt_at": now_ms})
        self._store(key, slot.kind, slot.seq, event, marked=True)

    def put_aside(
        self, key: str, state: ConversationState, event: ParkedEvent, head: Slot | None
    ) -> ConversationState:
        """``event`` waits alone: in its own place when it waited aside already."""
        if head is not None and head.kind == "a":
            self._store(key, "a", head.seq, event, marked=True)
            return state
        if head is not None:
            state = self.remove(key, state, head)
        self._store(key, "a", state.queue.next_aside, event)
        return state.with_queue(state.queue.set_aside())

    def remove(self, key: str, state: ConversationState, slot: Slot) -> ConversationState:
        """``slot`` is resolved (or moved): its entries go, the conversation's entry follows."""
        self._entries.delete(mark_key(key, slot.source))
        self._entries.delete(entry_key(key, slot.kind, slot.seq))
        queue = state.queue
        if slot.kind == "a":
            return state.with_queue(queue.without_aside(slot.seq))
        return state.with_queue(queue.popped() if slot.seq == queue.head else queue)

    def migrate(self, key: str, state: ConversationState) -> ConversationState:
        """Move the events a state from before the waiting table held inline to their own
        entries, in their order."""
        queue = state.queue
        moved = state.with_queue(WaitingQueue(head=queue.head, tail=queue.head))
        for event in queue.legacy_parked:
            moved = self.enqueue(key, moved, event, None)
        for event in queue.legacy_aside:
            moved = self.put_aside(key, moved, event, None)
        return moved

    def _slot(self, key: str, kind: Kind, seq: int) -> Slot | None:
        raw = self._entries.get(entry_key(key, kind, seq))
        return Slot(kind, seq, ParkedEvent.model_validate_json(raw)) if raw else None

    def _store(
        self, key: str, kind: Kind, seq: int, event: ParkedEvent, *, marked: bool = False
    ) -> None:
        self._entries.put(entry_key(key, kind, seq), event.model_dump_json(by_alias=True).encode())
        if not marked:
            source = (event.topic, event.partition, event.offset)
            self._entries.put(mark_key(key, source), f"{kind}{seq}".encode())


def legacy_candidates(state: ConversationState) -> list[ParkedEvent]:
    """What can run next of a state not yet moved to the waiting table (the index's rebuild
    reads it without writing)."""
    queue = state.queue
    return [*queue.legacy_parked[:1], *queue.legacy_aside]
