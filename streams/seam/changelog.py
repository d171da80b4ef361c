"""A Faust table whose changelog writes can be awaited before the record that made them is acked.

Faust sends a table change to the changelog through its producer buffer and drops the
future. Before a commit it flushes that buffer, but the flush gives up after 0.1 s without
progress and does not wait for a change already taken off the buffer and still on its way
into the Kafka client (``ProducerBuffer.flush_atmost``). An offset can then be committed
before the table change it produced is in Kafka, and a crash restores the older state: a
parked event that was resumed and posted comes back parked and is posted again, a park that
was acked is forgotten. So the agent waits for its record's changelog writes before it acks.

A record's writes are the ones made in its task: :meth:`ChangelogTable.collect` starts a list
in the task's context (each record is handled in a task of its own), and every write made
there joins it. Waiting for one record's writes, not all those in flight, keeps the cost per
record constant however many records are in flight.

Faust also checks, on a table's first write for a source topic, that the source and the
changelog have as many partitions, reading the counts from the consumer's group metadata. For a
topic that metadata does not hold yet (for a moment while a member joins and the group's
topics are fetched) aiokafka gives 0, not "unknown", and Faust took that for a mismatch: every
write failed, and the events that made them went to the dead-letter topic. A count of 0 is
treated as not known yet, so the check is made on a later write, as Faust does for ``None``.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

import faust
from faust.types import FutureMessage

_writes: ContextVar[list[FutureMessage] | None] = ContextVar("changelog_writes", default=None)


class ChangelogTable(faust.Table[bytes, bytes]):
    """A Faust table whose changelog writes a record can await before it is acked."""

    def send_changelog(self, *args: Any, **kwargs: Any) -> FutureMessage:
        sent: FutureMessage = super().send_changelog(*args, **kwargs)
        writes = _writes.get()
        if writes is not None:
            writes.append(sent)
        return sent

    def _verify_source_topic_partitions(self, source_topic: str) -> None:
        counts = self.app.consumer.topic_partitions
        if counts(source_topic) == 0 or counts(self.changelog_topic_name) == 0:
            return
        super()._verify_source_topic_partitions(source_topic)

    @staticmethod
    def collect() -> list[FutureMessage]:
        """From now on in this task, every changelog write joins the returned list."""
        writes: list[FutureMessage] = []
        _writes.set(writes)
        return writes

    async def written(self, writes: list[FutureMessage]) -> None:
        """Return once ``writes`` are in the changelog; raise if one failed, or if they are
        not all in within the broker request timeout (a write Faust lost)."""
        pending = [w for w in writes if not w.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=self.app.conf.broker_request_timeout)
            if late:
                raise RuntimeError("changelog writes not acknowledged in time")
        for write in writes:
            if write.cancelled():
                raise RuntimeError("a changelog write was cancelled")
            failure = write.exception()
            if failure is not None:
                raise failure
