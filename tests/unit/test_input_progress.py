"""How far the input partitions are handled, for the walks' pacing: this worker's own count
where it has one, else the group's committed offsets, read for every partition in one request
at most once a second (the broker's answer stood in for by a fake `GroupOffsets`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams import input_progress
from streams.input_progress import InputProgress


def test_own_count_first_then_the_groups_offsets_once_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[list[tuple[str, int]]] = []
    committed = {0: 5, 1: 7}

    class GroupOffsets:
        def __init__(self, kafka: Any, group: str) -> None:
            assert group == "g"

        async def read(self, partitions: Any) -> dict[Any, int]:
            wanted = list(partitions)
            asked.append(wanted)
            return {(t, p): committed[p] for t, p in wanted if p in committed}

    monkeypatch.setattr(input_progress, "GroupOffsets", GroupOffsets)
    now = [100.0]
    progress = InputProgress(
        kafka=None, group="g", topic="in", partitions=3,  # type: ignore[arg-type]
        local=lambda p: 42 if p == 2 else None, clock=lambda: now[0],
    )  # fmt: skip

    async def read(partition: int) -> int | None:
        return await progress.handled(partition)

    assert asyncio.run(read(2)) == 42 and asked == []  # its own partition: no request
    assert asyncio.run(read(0)) == 5 and asked == [[("in", 0), ("in", 1), ("in", 2)]]
    committed[1] = 9
    assert asyncio.run(read(1)) == 7 and len(asked) == 1  # within the second: no new request
    now[0] += 1.0
    assert asyncio.run(read(1)) == 9 and len(asked) == 2


def test_kafka_not_answering_leaves_the_offsets_unknown_and_is_asked_again_a_second_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers: list[dict[Any, int] | Exception] = [TimeoutError("no answer"), {("in", 0): 3}]
    made: list[str] = []

    class GroupOffsets:
        def __init__(self, kafka: Any, group: str) -> None:
            made.append(group)

        async def read(self, partitions: Any) -> dict[Any, int]:
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    monkeypatch.setattr(input_progress, "GroupOffsets", GroupOffsets)
    now = [0.0]
    progress = InputProgress(
        kafka=None, group="g", topic="in", partitions=1,  # type: ignore[arg-type]
        local=lambda p: None, clock=lambda: now[0],
    )  # fmt: skip
    assert asyncio.run(progress.handled(0)) is None
    assert asyncio.run(progress.handled(0)) is None and answers  # not asked again at once
    now[0] += 1.0
    assert asyncio.run(progress.handled(0)) == 3 and made == ["g"]  # one reader throughout
