"""ReplayGuard: which records a new owner looks up in Vitally before writing."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from faust.types import TP

from streams.handler import SourceRecord
from streams.ports import ReplayGuard

TOPIC = "unthread.conversation-events"
TP0 = TP(TOPIC, 0)


class Ends:
    """The broker's end offsets, as the consumer reports them."""

    def __init__(self) -> None:
        self.ends: dict[TP, int] = {}
        self.asked = 0

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        self.asked += 1
        return {tp: self.ends.get(tp, 0) for tp in tps}


def guard(ends: Ends) -> ReplayGuard:
    app: Any = SimpleNamespace(consumer=ends)
    return ReplayGuard(app)


def at(offset: int) -> SourceRecord:
    return SourceRecord(TOPIC, 0, offset, b"c", b"{}")


async def test_records_below_the_end_at_takeover_may_have_been_applied() -> None:
    ends = Ends()
    ends.ends[TP0] = 10
    replay = guard(ends)
    await replay.take_over({TP0})
    ends.ends[TP0] = 20  # produced after we took over: new
    assert await replay.maybe_applied(at(9))
    assert not await replay.maybe_applied(at(10))
    assert ends.asked == 1  # measured once per takeover, not per record
