"""Our Faust consumer: it commits what the agent finished, never what Faust acked on its own.

Faust acks some records itself, even on a ``noack()`` stream: records fetched under an older
consumer generation or while flow control is off (around every rebalance and at start-up)
are skipped *and acked* (``Stream.__aiter__``), on the understanding that the seek to the
committed offset after the rebalance fetches them again. But those acks count towards its
next commit, which can then pass the skipped records; the seek lands after them and a
restarted worker never sees them (a SIGKILLed worker's replacement started ~250 records past
what was handled). Its commit also passes in-flight records in other ways (faust-streaming#606
and the gap handling in ``_new_offset``).

So for the agent's source partitions the offset Faust commits is ours: the offset after the
last record the agent finished, counted in offset order (:class:`streams.lanes.
OffsetSequencer` releases in order, and :mod:`streams.seam.continuity` hands the agent no record
past a hole). The consumer is Faust's own aiokafka consumer with one method replaced:
``_new_offset``, the single place where Faust turns its acks into the offset to commit.
That and the re-reading of a hole need Faust's private consumer state, listed with the seam's
other internals in :mod:`streams.seam`, which checks them at import.
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP


class HandledOffsets:
    """Per partition, the offset after the last record the agent finished in order."""

    def __init__(self) -> None:
        self._next: dict[TP, int] = {}

    def finished(self, tp: TP, offset: int) -> None:
        if offset + 1 > self._next.get(tp, -1):
            self._next[tp] = offset + 1

    def next_offset(self, tp: TP) -> int | None:
        return self._next.get(tp)

    def forget(self) -> None:
        """A new assignment: start again from what the group has committed."""
        self._next.clear()


class CommittingConsumer(faust_aiokafka.Consumer):
    def _new_offset(self, tp: TP) -> int | None:
        transport = self.transport
        assert isinstance(transport, CommittingTransport)  # noqa: S101 - it made us
        handled = transport.handled
        done = handled.next_offset(tp)
        if done is not None:
            # Faust's own bookkeeping below ``done`` no longer matters; trimmed, it stays small.
            acked = self._acked[tp]
            self._acked_index[tp].difference_update(o for o in acked if o < done)
            acked[:] = [o for o in acked if o >= done]
            gaps = self._gap.get(tp)
            if gaps:
                gaps.chop(0, done)
        return done

    async def reread(self, tp: TP, offset: int) -> None:
        """Fetch ``tp`` again from ``offset``."""
        # Not Consumer.seek: it calls aiokafka from outside the consumer's thread, and such a
        # seek can be lost (the fetcher runs on); seek_wait runs there and waits for it.
        await self.seek_wait({tp: offset})
        self.forget_read_offset(tp)

    def forget_read_offset(self, tp: TP) -> None:
        """Let records below the last one delivered through again.

        Faust's fetch loop drops records below the last offset it delivered, which the rest of
        a batch fetched before our seek raises again; no public way resets it.
        """
        self._read_offset.pop(tp, None)


class CommittingTransport(faust_aiokafka.Transport):
    Consumer = CommittingConsumer

    def __init__(self, url: Any, app: Any, handled: HandledOffsets) -> None:
        super().__init__(url, app)
        self.handled = handled
