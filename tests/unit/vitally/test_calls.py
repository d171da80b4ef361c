import asyncio

from vitally import count_calls
from vitally.calls import record_call


def test_counts_only_inside_the_block() -> None:
    record_call()  # outside any block: nobody is counting, nothing breaks
    with count_calls() as counter:
        record_call()
        record_call()
    record_call()
    assert counter.value == 2


def test_nested_blocks_count_towards_the_outer_block_too() -> None:
    with count_calls() as outer:
        record_call()
        with count_calls() as inner:
            record_call()
    assert (outer.value, inner.value) == (2, 1)


async def test_each_task_counts_its_own_calls() -> None:
    async def event(calls: int) -> int:
        with count_calls() as counter:
            for _ in range(calls):
                record_call()
                await asyncio.sleep(0)  # interleave with the other events
        return counter.value

    assert list(await asyncio.gather(event(1), event(3), event(2))) == [1, 3, 2]
