"""A tenant's dead letters on its health page, and their re-drive, with ``vitally-sync dlq``'s
reader and :class:`~ops.dlq.Redriver` (no consumer group, nothing committed).

Bounded: the page reads only the last :data:`TAIL` records of each DLQ partition and shows
the tenant's newest :data:`SHOWN` of them, so its cost does not grow with the DLQ. A re-drive
reads only the dead letters it names, by place, and keeps those of the tenant. Blocking
(confluent-kafka): the pages run these in a thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from integrations.kafka_config import KafkaSettings
from ops.dlq import Letter, Redrive, Redriver, Selection, letters_at, select
from ops.reader import TopicReader

# Records read from the end of each DLQ partition to find a tenant's dead letters.
TAIL = 200
# A tenant's newest dead letters shown (and re-driven at once, at most).
SHOWN = 20
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RedriveRun:
    """What a re-drive planned, and (when executed) the offset each sent record got."""

    plans: list[Redrive]
    sent: dict[int, int] | None  # None: a dry run, nothing produced


class DeadLetterSource(Protocol):
    def recent(self, tenant_id: str) -> list[Letter]: ...

    def redrive(
        self, tenant_id: str, places: Sequence[tuple[int, int]], *, execute: bool
    ) -> RedriveRun: ...


class DeadLetters:
    """The DLQ topic, read and re-driven for one tenant at a time."""

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self._kafka = kafka
        self._topic = topic

    def recent(self, tenant_id: str) -> list[Letter]:
        """The tenant's newest dead letters among the last :data:`TAIL` of each partition."""
        with self._reader() as reader:
            found = select(reader, Selection(tenant=tenant_id), None, last=TAIL)
        found.sort(key=lambda letter: letter.time or 0, reverse=True)
        return found[:SHOWN]

    def redrive(
        self, tenant_id: str, places: Sequence[tuple[int, int]], *, execute: bool
    ) -> RedriveRun:
        """Plan the re-drive of the tenant's dead letters at ``places``; produce it when
        ``execute`` (as ``dlq redrive --execute``)."""
        with self._reader() as reader:
            letters = [f for f in letters_at(reader, places[:SHOWN]) if f.tenant_id == tenant_id]
            redriver = Redriver(self._kafka, reader, timeout_s=TIMEOUT_S)
            plans = redriver.plan(letters)
            return RedriveRun(plans, redriver.produce(plans) if execute else None)

    def _reader(self) -> TopicReader:
        return TopicReader(self._kafka, self._topic, timeout_s=TIMEOUT_S, progress=False)
