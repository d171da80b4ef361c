"""How far the input topic's partitions are handled, for pacing the walks
(:mod:`processors.walk_pacing`).

A walk's events go to their conversations' partitions, which other workers may own. For a
partition this worker owns, the agent's own count is exact and current; for the others, the
consumer group's committed offsets (committed every `COMMIT_INTERVAL_SECONDS`), read for every
partition at once, at most once a second, through one admin client kept for the purpose.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import KafkaException

from integrations.kafka_config import KafkaSettings
from streams.seam.start_offsets import GroupOffsets

log = logging.getLogger(__name__)

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
        self._offsets = GroupOffsets(kafka, group)
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
            self._read_at = self._clock()
            self._committed = await self._read()
        return self._committed.get(partition)

    async def _read(self) -> dict[int, int]:
        """Every partition's committed offset; none when Kafka does not answer (the walk
        waits, and asks again a second later)."""
        try:
            found = await self._offsets.read((self._topic, p) for p in range(self._partitions))
        except (KafkaException, TimeoutError) as exc:
            log.warning("could not read the group's committed offsets: %s", exc,
                        extra={"group": self._group})  # fmt: skip
            return {}
        return {p: offset for (_, p), offset in found.items()}
