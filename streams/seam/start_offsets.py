"""Where each source partition continues after an assignment, read once per assignment for
:class:`streams.seam.continuity.OffsetContinuity`: the group's committed offset, or the start of
the log where there is none (the consumer's ``auto_offset_reset`` is earliest)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec  # type: ignore[attr-defined]

from integrations.kafka_config import KafkaSettings, confluent_config

log = logging.getLogger(__name__)

Partition = tuple[str, int]


class GroupOffsets:
    """Reads where a group continues on some partitions, with one admin client for all its
    reads (a client opens its own connections and threads: not one per read)."""

    def __init__(self, kafka: KafkaSettings, group: str, *, timeout: float = 10.0) -> None:
        self._kafka = kafka
        self._group = group
        self._timeout = timeout
        self._admin: AdminClient | None = None

    async def read(self, partitions: Iterable[Partition]) -> dict[Partition, int]:
        """The group's committed offset of each partition, else the start of its log. Raises
        ``KafkaException`` or ``TimeoutError`` when Kafka does not answer."""
        wanted = sorted(set(partitions))
        return await asyncio.to_thread(self._read, wanted) if wanted else {}

    def _read(self, wanted: list[Partition]) -> dict[Partition, int]:
        if self._admin is None:
            self._admin = AdminClient(confluent_config(self._kafka))
        admin, timeout, group = self._admin, self._timeout, self._group
        request = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p) for t, p in wanted])
        future = admin.list_consumer_group_offsets([request], request_timeout=timeout)[group]
        answer = future.result(timeout=timeout)
        starts = {
            (tp.topic, tp.partition): tp.offset
            for tp in answer.topic_partitions or []
            if tp.error is None and tp.offset >= 0
        }
        fresh = [TopicPartition(t, p) for t, p in wanted if (t, p) not in starts]
        if fresh:
            spec = OffsetSpec.earliest()  # type: ignore[no-untyped-call]
            earliest = admin.list_offsets({tp: spec for tp in fresh}, request_timeout=timeout)
            for tp, pending in earliest.items():
                starts[(tp.topic, tp.partition)] = pending.result(timeout=timeout).offset
        return starts


async def start_offsets(
    kafka: KafkaSettings,
    group: str,
    partitions: Iterable[Partition],
    *,
    timeout: float = 10.0,
    attempts: int = 3,
) -> dict[Partition, int]:
    """The offset each of ``partitions`` continues at for ``group``.

    After ``attempts`` failures the answer is empty: continuity then takes the first record
    it is handed as the start, as Faust alone would, and says so in the log.
    """
    wanted = sorted(set(partitions))
    if not wanted:
        return {}
    offsets = GroupOffsets(kafka, group, timeout=timeout)
    for attempt in range(1, attempts + 1):
        try:
            return await offsets.read(wanted)
        except (KafkaException, TimeoutError) as exc:
            log.warning(
                "could not read start offsets (attempt %s of %s): %s", attempt, attempts, exc,
                extra={"group": group},
            )  # fmt: skip
            if attempt < attempts:
                await asyncio.sleep(1.0)
    log.error("no start offsets: holes at the start of this assignment go unnoticed",
              extra={"group": group})  # fmt: skip
    return {}
