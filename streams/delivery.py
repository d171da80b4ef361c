"""Audit records and DLQ copies are in Kafka before the input record that made them is acked.

Faust's producer returns, for every send, a future of its delivery, and Faust drops it: a
batch the broker refuses (no write permission, a topic whose ``max.message.bytes`` is
smaller than the record, a topic deleted under us, a timeout) is logged by Faust and
forgotten, and its flush before a commit waits for the batches to be sent, not accepted. The
commit would then pass a record whose audit record or DLQ copy (for a failed record, the
only durable copy of it) is nowhere.

So every output of a record is kept with its future (:meth:`Deliveries.collect` starts the
list in the record's task, as :mod:`streams.seam.changelog` does for table writes) and the
agent awaits :meth:`Deliveries.delivered` before it acks. An output Kafka refused is sent
again, the same bytes, after 1 s, doubling to 10 s, for as long as the worker runs and owns
the partition: its input record stays unacked, so nothing after it in its partition is
committed, and once the topic takes writes again the record is audited and acked without a
restart. Re-sending, not handling the record again, matters: its outcome and table change
are already written, and a second run would only audit it as a duplicate. A worker that is
stopping or handing its partitions over keeps trying for ``grace_s`` (what a call in flight
gets at a handover), so a refusal that clears by itself (a leader moving) costs no restart;
past it, it gives up, unacked (:class:`UndeliveredOutput`): the agent then stops the worker
rather than hold the rebalance, and the next owner handles the record again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import faust

from streams.handler import OutputFailed

log = logging.getLogger(__name__)

OutputKind = Literal["audit", "dlq"]
# As Faust takes them: a DLQ copy keeps the input's headers, repeated names included.
OutputHeaders = list[tuple[str, bytes]] | Mapping[str, bytes] | None

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 10.0


@dataclass(frozen=True)
class Output:
    """One record written for an input record."""

    kind: OutputKind
    topic: faust.TopicT
    key: bytes | None
    value: bytes | None
    headers: OutputHeaders

    async def send(self) -> Awaitable[Any]:
        """Its delivery's future; a send the client refuses at once becomes a failed one."""
        try:
            return await self.topic.send(key=self.key, value=self.value, headers=self.headers)
        except Exception as refused:  # noqa: BLE001 - retried like a refused delivery
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(refused)
            return failed


Sent = tuple[Output, Awaitable[Any]]


class UndeliveredOutput(OutputFailed):
    """An output Kafka refused, and the worker is stopping: its input record stays unacked."""

    def __init__(self, output: Output, error: BaseException) -> None:
        super().__init__(
            f"the {output.kind} record for this input record was not written to "
            f"{output.topic.get_topic_name()} ({_describe(error)}) and the worker is stopping"
        )


_pending: ContextVar[list[Sent] | None] = ContextVar("pending_outputs", default=None)


class Deliveries:
    """Sends a record's outputs, and waits until Kafka has each one, sending again if need be."""

    def __init__(
        self,
        *,
        stopping: Callable[[], bool],
        timeout_s: float,
        grace_s: float,
        on_failure: Callable[[OutputKind], None],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stopping = stopping
        self._timeout_s = timeout_s
        self._grace_s = grace_s
        self._on_failure = on_failure
        self._sleep = sleep
        self._monotonic = monotonic

    @staticmethod
    def collect() -> list[Sent]:
        """From now on in this task, every output joins the returned list."""
        outputs: list[Sent] = []
        _pending.set(outputs)
        return outputs

    async def send(
        self,
        kind: OutputKind,
        topic: faust.TopicT,
        key: bytes | None,
        value: bytes | None,
        headers: OutputHeaders = None,
    ) -> None:
        """Send now; the record's task awaits the delivery before its ack (outside one, here)."""
        output = Output(kind, topic, key, value, headers)
        sent = (output, await output.send())
        pending = _pending.get()
        if pending is None:
            await self.delivered([sent])
        else:
            pending.append(sent)

    async def delivered(self, outputs: list[Sent]) -> None:
        """Return once Kafka has every output; raise :class:`UndeliveredOutput` if one is
        still refused after the worker has been stopping for ``grace_s``."""
        for output, sent in outputs:
            delay = FIRST_DELAY_S
            stopping_since: float | None = None
            while (error := await self._outcome(sent)) is not None:
                self._on_failure(output.kind)
                if not self._stopping():
                    stopping_since = None
                elif stopping_since is None:
                    stopping_since = self._monotonic()
                if stopping_since is not None:
                    if self._monotonic() - stopping_since >= self._grace_s:
                        raise UndeliveredOutput(output, error)
                    delay = min(delay, self._grace_s)
                log.error(
                    "could not write the %s record to %s (%s); its input record is not acked "
                    "and nothing after it in its partition is committed; sending again in %.0f s",
                    output.kind, output.topic.get_topic_name(), _describe(error), delay,
                )  # fmt: skip
                await self._sleep(delay)
                delay = min(delay * 2, MAX_DELAY_S)
                sent = await output.send()

    async def _outcome(self, sent: Awaitable[Any]) -> BaseException | None:
        if isinstance(sent, asyncio.Future) and sent.done() and not sent.cancelled():
            # Usually so by the time it is asked (the changelog write was awaited first):
            # no timer and no shield to build.
            return sent.exception()
        try:
            # Shielded: a delivery still under way when the wait ends is not cancelled.
            await asyncio.wait_for(asyncio.shield(sent), self._timeout_s)
        except TimeoutError as timed_out:
            return timed_out
        except Exception as refused:  # noqa: BLE001 - any refusal is retried the same way
            return refused
        return None


def _describe(error: BaseException) -> str:
    # Kafka's errors name the code, never the record; the record itself is never logged.
    text = str(error)[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
