"""ChangelogTable: a record's table changes can be awaited until they are in Kafka."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.types import FutureMessage

from streams.changelog_table import ChangelogTable


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


async def test_written_waits_for_every_change_made_so_far(changelog: Changelog) -> None:
    t = table()
    t.send_changelog(0, b"a", b"1")
    t.send_changelog(0, b"b", b"2")
    waiting = asyncio.ensure_future(t.written())
    changelog.sent[0].set_result(None)  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert not waiting.done()  # the second change is still on its way
    changelog.sent[1].set_result(None)  # type: ignore[arg-type]
    await asyncio.wait_for(waiting, 1)
    await asyncio.wait_for(t.written(), 1)  # nothing left: returns at once


async def test_a_change_that_failed_is_reported_to_whoever_asks_later(
    changelog: Changelog,
) -> None:
    t = table()
    t.send_changelog(0, b"a", b"1")
    changelog.sent[0].set_exception(RuntimeError("broker gone"))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="broker gone"):
        await t.written()


async def test_a_cancelled_or_lost_change_is_an_error_not_a_wait(changelog: Changelog) -> None:
    t = table()
    t.send_changelog(0, b"a", b"1")
    changelog.sent[0].cancel()
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="cancelled"):
        await t.written()

    lost = table()
    lost.app.conf.broker_request_timeout = 0.05
    lost.send_changelog(0, b"b", b"2")  # never acknowledged
    with pytest.raises(RuntimeError, match="not acknowledged in time"):
        await lost.written()
