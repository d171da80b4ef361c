"""No offset is ever passed over: a record the agent was not handed is read again.

Faust drops records it fetched around rebalances (``Stream.__aiter__`` skips them) and relies
on its seek to the committed offset to fetch them again; with our commits
(:mod:`streams.seam.commits`) that seek never lands past a record we did not finish. This module
checks that promise instead of trusting it. After an assignment each source partition is
expected to continue at the group's committed offset (the start of the log when there is
none: ``auto_offset_reset`` is earliest), and every record handed to the agent is checked:

* at or below what we expect next: handle it (a redelivery is recognised as a duplicate
  downstream);
* above it: a hole. Only the broker can say whether it is real (transaction markers,
  compaction) or records we never got, so the caller asks it (:mod:`streams.seam.probe`)
  and passes the answer to :meth:`OffsetContinuity.settle`: a real hole is stepped over,
  a missing record is read again by seeking back. Nothing is ever skipped on a timer.

Records can also vanish with no later record to show it: Faust clears its stream buffers when
flow resumes after a rebalance, and records its fetcher delivered while it was seeking to the
committed offset are cleared with them, after that seek (a replay's whole partition, once).
So while the agent waits for records (``idle_s``), a fetch position past what we expect is a
hole too (:meth:`OffsetContinuity.stalled`), settled with the broker the same way.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Verdict = Literal["handle", "hole", "drop"]
T = TypeVar("T")


@dataclass
class _Track:
    expected: int | None
    sought_at: float | None = None


@dataclass
class OffsetContinuity:
    """Checks that every source partition continues where it should: no offset passed over."""

    # How long records fetched before our seek may still arrive; after that a record past
    # the hole means the seek was undone (a rebalance, Faust's own seek) and we ask again.
    reseek_s: float = 1.0
    idle_s: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _tracks: dict[Hashable, _Track] = field(default_factory=dict)
    _idle_since: float | None = None

    def reset(self, starts: Mapping[Any, int]) -> None:
        """A new assignment: each partition continues at ``starts`` (None if unknown)."""
        self._tracks = {tp: _Track(expected=offset) for tp, offset in starts.items()}

    async def watch(self, records: AsyncIterable[T]) -> AsyncIterator[T]:
        """``records`` as they come, noting when the agent is waiting for the next one."""
        self._idle_since = self.clock()
        async for record in records:
            self._idle_since = None
            yield record
            self._idle_since = self.clock()

    def check(self, tp: Hashable, offset: int) -> Verdict:
        track = self._tracks.setdefault(tp, _Track(expected=None))
        if track.expected is None or offset <= track.expected:
            return self._handle(track, offset)
        if track.sought_at is not None and self.clock() - track.sought_at < self.reseek_s:
            return "drop"  # fetched before our seek took effect
        return "hole"

    def stalled(self, tp: Hashable, position: int | None) -> int | None:
        """The offset to ask the broker about when Kafka's fetch position for ``tp`` has run
        past records the agent never got, or None. Only once the agent has waited ``idle_s``
        for records (nothing fetched is still on its way to it), and once per ``reseek_s``."""
        now = self.clock()
        if self._idle_since is None or now - self._idle_since < self.idle_s:
            return None
        track = self._tracks.get(tp)
        if track is None or track.expected is None or position is None:
            return None
        if position <= track.expected:
            return None
        if track.sought_at is not None and now - track.sought_at < self.reseek_s:
            return None
        return track.expected

    def settle(self, tp: Hashable, upto: int, first_record: int | None) -> int | None:
        """After a hole before ``upto`` (the offset of the record :meth:`check` called a hole,
        or the position :meth:`stalled` found): ``first_record`` is the broker's first record
        at or after the expected offset (None if it did not answer). Steps over what holds no
        record and returns where to read again from, or None when nothing is missing."""
        track = self._tracks[tp]
        if track.expected is None:
            return None
        if first_record is not None and first_record > track.expected:
            track.expected = min(first_record, upto)  # nothing is there
        if track.expected >= upto:
            track.sought_at = None
            return None
        track.sought_at = self.clock()
        return track.expected

    def expected(self, tp: Hashable) -> int | None:
        track = self._tracks.get(tp)
        return track.expected if track else None

    @staticmethod
    def _handle(track: _Track, offset: int) -> Verdict:
        track.expected = offset + 1
        track.sought_at = None
        return "handle"
