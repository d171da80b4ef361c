"""A Faust table whose changelog writes can be awaited before the record that made them is acked.

Faust sends a table change to the changelog through its producer buffer and drops the
future. Before a commit it flushes that buffer, but the flush gives up after 0.1 s without
progress and does not wait for a change already taken off the buffer and still on its way
into the Kafka client (``ProducerBuffer.flush_atmost``). An offset can then be committed
before the table change it produced is in Kafka, and a crash restores the older state: a
parked event that was resumed and posted comes back parked and is posted again, a park that
was acked is forgotten. So the agent waits for its changelog writes before it acks.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.types import FutureMessage


class ChangelogTable(faust.Table):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unsent: set[FutureMessage] = set()
        self._failure: BaseException | None = None

    def send_changelog(self, *args: Any, **kwargs: Any) -> FutureMessage:
        sent: FutureMessage = super().send_changelog(*args, **kwargs)
        self._unsent.add(sent)
        sent.add_done_callback(self._sent)
        return sent

    def _sent(self, sent: FutureMessage) -> None:
        self._unsent.discard(sent)
        # Kept, not dropped with the future: the record that made the change may ask later.
        if self._failure is None:
            failure = RuntimeError("a changelog write was cancelled") if sent.cancelled() else None
            self._failure = failure or sent.exception()

    async def written(self) -> None:
        """Return once every change made so far is in the changelog; raise if any failed, or
        if they are not all in within the broker request timeout (a write Faust lost)."""
        if self._unsent:
            pending = asyncio.gather(*self._unsent, return_exceptions=True)
            try:
                await asyncio.wait_for(pending, self.app.conf.broker_request_timeout)
            except TimeoutError:
                raise RuntimeError("changelog writes not acknowledged in time") from None
        if self._failure is not None:
            raise self._failure
