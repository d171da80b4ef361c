"""No offset is ever passed over: holes in what we are handed are detected and re-read.

Faust acks some records itself, even on a ``noack()`` stream: records fetched under an older
consumer generation or while flow control is off are skipped *and acked*
(``Stream.__aiter__``), on the understanding that they are fetched again. Its commit then
may move past them (after an assignment its committed offset is unknown, and the head guard
of faust-streaming#606 does not apply), and a worker that dies before the re-fetch loses them.

So we keep our own truth. Per partition, the *watermark* is the offset below which every
record was handled by us (audited, state written); it is stored in a table and so survives
restarts. After an assignment we expect the lower of the watermark and the group's committed
offset (where Kafka resumes): an operator who resets offsets to replay gets every record
again, even those Faust skips while it starts up. Every record handed to the agent is then
checked against what we expect next:

* at or below it: handle it (a redelivery is recognised as a duplicate downstream);
* above it: a hole. Seek back to the expected offset and drop records until it arrives.
  A hole that is still there after ``gap_grace_s`` is a real one (transaction markers,
  compaction) and is accepted.

A hole at the *end* of a partition shows no later record; it shows as Kafka's fetch position
past what we expect while the agent sits waiting for records (``stalled``): then too we seek
back.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

Verdict = Literal["handle", "seek", "drop"]
T = TypeVar("T")


@dataclass
class _Track:
    expected: int | None
    seeking_since: float | None = None
    sought_at: float = float("-inf")


@dataclass
class OffsetContinuity:
    gap_grace_s: float = 5.0
    idle_s: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _tracks: dict[Hashable, _Track] = field(default_factory=dict)
    _starts: dict[Hashable, int] = field(default_factory=dict)
    _idle_since: float | None = None

    def reset(self, starts: Mapping[Hashable, int] | None = None) -> None:
        """A new assignment: expectations are re-read from the watermarks, lowered to
        ``starts`` (the committed offsets, by partition) where those are lower."""
        self._tracks.clear()
        self._starts = dict(starts or {})

    async def watch(self, records: AsyncIterable[T]) -> AsyncIterator[T]:
        """``records`` as they come, noting when the agent is waiting for the next one."""
        self._idle_since = self.clock()
        async for record in records:
            self._idle_since = None
            yield record
            self._idle_since = self.clock()

    def check(self, tp: Hashable, offset: int, watermark: Callable[[], int | None]) -> Verdict:
        track = self._track(tp, watermark)
        if track.expected is None or offset <= track.expected:
            track.expected = offset + 1
            track.seeking_since = None
            return "handle"
        now = self.clock()
        if track.seeking_since is None:
            track.seeking_since = track.sought_at = now
            return "seek"
        if now - track.seeking_since < self.gap_grace_s:
            if now - track.sought_at >= 1.0:
                track.sought_at = now  # a rebalance or Faust's own seek may have undone ours
                return "seek"
            return "drop"  # fetched before our seek took effect
        track.expected = offset + 1  # the hole did not fill: nothing is there
        track.seeking_since = None
        return "handle"

    def stalled(
        self, tp: Hashable, position: int | None, watermark: Callable[[], int | None]
    ) -> int | None:
        """Where to seek ``tp`` back to when Kafka's fetch position has run past records the
        agent never got, or None. Only while the agent has waited ``idle_s`` for records: then
        nothing fetched is still on its way to it."""
        now = self.clock()
        if self._idle_since is None or now - self._idle_since < self.idle_s:
            return None
        track = self._track(tp, watermark)
        if position is None or track.expected is None or position <= track.expected:
            track.seeking_since = None
            return None
        if track.seeking_since is None:
            track.seeking_since = now
        elif now - track.seeking_since >= self.gap_grace_s:
            track.expected = position  # nothing came: there is nothing (e.g. a control record)
            track.seeking_since = None
            return None
        if now - track.sought_at < 1.0:
            return None
        track.sought_at = now
        return track.expected

    def expected(self, tp: Hashable) -> int | None:
        track = self._tracks.get(tp)
        return track.expected if track else None

    def _track(self, tp: Hashable, watermark: Callable[[], int | None]) -> _Track:
        track = self._tracks.get(tp)
        if track is None:
            known = [o for o in (watermark(), self._starts.get(tp)) if o is not None]
            track = self._tracks[tp] = _Track(expected=min(known) if known else None)
        return track
