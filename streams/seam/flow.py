"""A per-partition cap on events in flight, enforced by pausing that partition's fetching.

The global admission limit (:class:`streams.lanes.KeyedLanes`) bounds memory, but one hot
conversation can fill it with events queued behind each other, starving every other
partition. Pausing only the partition whose window is full (as Confluent's parallel consumer
does) lets the others keep flowing. The cap is soft: records Faust already buffered for a
paused partition are still admitted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from faust.types import TP, ConsumerT


class PartitionWindow:
    """Caps one partition's events in flight by pausing its fetching."""

    def __init__(
        self,
        limit: int,
        *,
        in_flight: Callable[[TP], int],
        pause: Callable[[Iterable[TP]], None],
        resume: Callable[[Iterable[TP]], None],
        may_resume: Callable[[], bool],
    ) -> None:
        self._limit = limit
        self._in_flight = in_flight
        self._pause = pause
        self._resume = resume
        self._may_resume = may_resume
        self._paused: set[TP] = set()

    def admitted(self, tp: TP) -> None:
        if tp not in self._paused and self._in_flight(tp) >= self._limit:
            self._paused.add(tp)
            self._pause([faust_tp(tp)])

    def finished(self, tp: TP) -> None:
        # Resume at half the window, not at limit - 1, so we do not pause/resume per event.
        if tp in self._paused and self._in_flight(tp) <= self._limit // 2 and self._may_resume():
            self._paused.discard(tp)
            self._resume([faust_tp(tp)])

    def forget(self, tps: Iterable[TP]) -> None:
        """Revoked partitions: Faust drops its pause state for them too."""
        self._paused.difference_update(tps)


def faust_tp(tp: TP) -> TP:
    """Faust's own TP: records carry aiokafka's TopicPartition, and Faust's
    ``resume_partitions`` adds what it is given to its active set unconverted, which then
    fails its ``isinstance(x, TP)`` assertion and crashes the fetcher."""
    return tp if type(tp) is TP else TP(tp.topic, tp.partition)


def stop_fetching(consumer: ConsumerT, tps: Iterable[TP]) -> None:
    """Pause for the window: fetch no more for ``tps``, but deliver what was already fetched.

    Faust's buffer-pressure hook does exactly that. ``Consumer.pause_partitions`` does not:
    the fetcher's batch filters on the live set of active partitions, so the rest of an
    already fetched batch of a partition paused mid-batch is skipped without a trace; the
    next fetch starts after it and Faust records the hole as a gap and commits past it.
    """
    for tp in tps:
        consumer.on_buffer_full(tp)


def resume_fetching(consumer: ConsumerT, tps: Iterable[TP]) -> None:
    for tp in tps:
        consumer.on_buffer_drop(tp)
