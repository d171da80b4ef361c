"""No offset is ever passed over: holes in what we are handed are detected and re-read.

Faust acks some records itself, even on a ``noack()`` stream: records fetched under an older
consumer generation or while flow control is off are skipped *and acked*
(``Stream.__aiter__``), on the understanding that they are fetched again. Its commit then
may move past them (after an assignment its committed offset is unknown, and the head guard
of faust-streaming#606 does not apply), and a worker that dies before the re-fetch loses them.

So we keep our own truth. Per partition, the *watermark* is the offset below which every
record was handled by us (audited, state written); it is stored in a table and so survives
restarts. Every record handed to the agent is checked against what we expect next:

* at or below it: handle it (a redelivery is recognised as a duplicate downstream);
* above it: a hole. Seek back to the expected offset and drop records until it arrives.
  A hole that is still there after ``gap_grace_s`` is a real one (transaction markers,
  compaction) and is accepted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["handle", "seek", "drop"]


@dataclass
class _Track:
    expected: int | None
    seeking_since: float | None = None
    sought_at: float = 0.0


@dataclass
class OffsetContinuity:
    gap_grace_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _tracks: dict[Hashable, _Track] = field(default_factory=dict)

    def reset(self) -> None:
        """A new assignment: expectations are re-read from the watermarks."""
        self._tracks.clear()

    def check(self, tp: Hashable, offset: int, watermark: Callable[[], int | None]) -> Verdict:
        track = self._tracks.get(tp)
        if track is None:
            track = self._tracks[tp] = _Track(expected=watermark())
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

    def expected(self, tp: Hashable) -> int | None:
        track = self._tracks.get(tp)
        return track.expected if track else None
