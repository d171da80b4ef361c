"""How far the input topic's partitions are handled, for pacing the walks
(:mod:`processors.walk_pacing`).

A walk's events go to their conversations' partitions, which other workers may own. For a
partition this worker owns, the agent's own count is exact and current; for the others, the
consumer group's committed offsets (committed every `COMMIT_INTERVAL_SECONDS`), read for every
partition at once, at most once a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from integrations.kafka_config import KafkaSettings
from streams.seam.start_offsets import start_offsets

COMMITTED_TTL_S = 1.0


class InputProgress:
    """The next offset to handle of each input partition, when known."""

    def __init__(
        self,
        *,
        kafka: KafkaSettings,
        group: str,
        topic: str,
        partitions: int,
        local: Callable[[int], int | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kafka = kafka
        self._group = group
        self._topic = topic
        self._partitions = partitions
        self._local = local
        self._clock = clock
        self._read_at: float | None = None
        self._committed: dict[int, int] = {}

    async def handled(self, partition: int) -> int | None:
        local = self._local(partition)
        if local is not None:
            return local
        if self._read_at is None or self._clock() - self._read_at >= COMMITTED_TTL_S:
            every = [(self._topic, p) for p in range(self._partitions)]
            found = await start_offsets(self._kafka, self._group, every, attempts=1)
            self._committed = {p: offset for (_, p), offset in found.items()}
            self._read_at = self._clock()
        return self._committed.get(partition)
