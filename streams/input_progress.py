"""How far the input topic's partitions are handled, for pacing the walks
(:mod:`processors.walk_pacing`).

A walk's events go to their conversations' partitions, which other workers may own. For a
partition this worker owns, the agent's own count is exact and current; for the others, the
consumer group's committed offset (committed every `COMMIT_INTERVAL_SECONDS`), read at most
once a second per partition.
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
        local: Callable[[int], int | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kafka = kafka
        self._group = group
        self._topic = topic
        self._local = local
        self._clock = clock
        self._committed: dict[int, tuple[float, int | None]] = {}

    async def handled(self, partition: int) -> int | None:
        local = self._local(partition)
        if local is not None:
            return local
        read_at, offset = self._committed.get(partition, (None, None))
        if read_at is None or self._clock() - read_at >= COMMITTED_TTL_S:
            found = await start_offsets(
                self._kafka, self._group, [(self._topic, partition)], attempts=1
            )
            offset = found.get((self._topic, partition))
            self._committed[partition] = (self._clock(), offset)
        return offset
