"""ChangelogTable: a record's table changes can be awaited until they are in Kafka."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.types import FutureMessage

from streams.seam.changelog import ChangelogTable


class Changelog:
    """Stands in for Faust's producer: each change is a future the test resolves."""

    def __init__(self) -> None:
        self.sent: list[FutureMessage] = []

    def __call__(self, table: Any, *args: Any, **kwargs: Any) -> FutureMessage:
        future = FutureMessage(SimpleNamespace())  # type: ignore[arg-type]
        self.sent.append(future)
        return future


@pytest.fixture
def changelog(monkeypatch: pytest.MonkeyPatch) -> Changelog:
    sent = Changelog()
    monkeypatch.setattr(faust.Table, "send_changelog", sent)
    return sent


def table() -> ChangelogTable:
    app = faust.App("changelog-table-test", Table=ChangelogTable, autodiscover=False)
    made = app.Table("conversations", key_type=bytes, value_type=bytes)
    assert isinstance(made, ChangelogTable)
    return made


async def test_a_record_waits_for_its_own_writes_only(changelog: Changelog) -> None:
    t = table()

    async def record(key: bytes) -> list[FutureMessage]:
        # Each record is handled in a task of its own, as the agent's lanes do.
        writes = t.collect()
        t.send_changelog(0, key, b"1")
        t.send_changelog(0, key, b"2")
        return writes

    first, second = await asyncio.gather(
        asyncio.create_task(record(b"a")), asyncio.create_task(record(b"b"))
    )
    assert [len(first), len(second)] == [2, 2]
    assert set(first).isdisjoint(second)
    waiting = asyncio.ensure_future(t.written(first))
    first[0].set_result(None)  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert not waiting.done()  # its second write is still on its way
    first[1].set_result(None)  # type: ignore[arg-type]
    await asyncio.wait_for(waiting, 1)  # the other record's writes are not waited for
    await asyncio.wait_for(t.written([]), 1)


async def test_a_failed_cancelled_or_lost_write_is_an_error_not_a_wait(
    changelog: Changelog,
) -> None:
    t = table()
    t.app.conf.broker_request_timeout = 0.05
    writes = t.collect()
    for _ in range(3):
        t.send_changelog(0, b"a", b"1")
    failed, cancelled, lost = writes
    failed.set_exception(RuntimeError("broker gone"))
    with pytest.raises(RuntimeError, match="broker gone"):
        await t.written([failed])
    cancelled.cancel()
    with pytest.raises(RuntimeError, match="cancelled"):
        await t.written([cancelled])
    with pytest.raises(RuntimeError, match="not acknowledged in time"):
        await t.written([lost])  # never acknowledged
