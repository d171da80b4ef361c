"""The handler's ports, backed by Faust: table state, audit and DLQ output, replay horizon."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import faust
from faust.types import TP, FutureMessage

from integrations.audit_summary import SummaryWriter
from processors.clock import Clock, epoch_ms
from schemas.audit import AuditRecord
from schemas.dead_letter import Failure, Origin
from schemas.state import ConversationState, ParkedEvent
from streams.dead_letters import dead_letter_record
from streams.delivery import Deliveries
from streams.handler import SourceRecord
from streams.metrics import Metrics
from streams.pruning import PrunePolicy
from streams.seam.changelog import ChangelogTable
from streams.waiting import WaitingEvents, legacy_candidates

# A conversation's entry with nothing waiting, told without parsing it (rebalance scans).
_IDLE = re.compile(rb'"queue":\{"head":(-?\d+),"tail":(-?\d+),"aside":\[\]')
_IDLE_LEGACY = (b'"parked":[]', b'"aside":[]')

# Conversations whose last written state is kept parsed (a few KB each at most).
_KEEP_PARSED = 4096
# Entries read between two yields to the event loop during a pruning scan.
_SCAN_BATCH = 1000
# What a finished conversation's JSON holds (ConversationState.finished), found unparsed.
_FINISHED_MARKS = (b'"status":"deleted"', b'"vitallyDeleted":true', b'"unthreadStatus":"closed"')


class TableStates:
    """The conversations table as the handler's state store (JSON values, str keys).

    The states this worker wrote last are kept parsed (up to ``keep`` conversations): a
    conversation's next event then reads its state without validating the JSON it wrote
    itself. One is used only while the table still holds the very value it was written as;
    a value from elsewhere (recovery from the changelog, a persistent store's copy) is parsed.
    """

    def __init__(self, table: Any, clock: Clock, keep: int = _KEEP_PARSED) -> None:
        self._table = table
        self._clock = clock
        self._keep = keep
        self._parsed: dict[str, tuple[bytes, ConversationState]] = {}

    def get(self, key: str) -> ConversationState | None:
        raw = self._table.get(key.encode())
        if not raw:
            return None
        written = self._parsed.get(key)
        if written is not None and written[0] is raw:
            return written[1]
        return ConversationState.from_json(raw)

    def put(self, key: str, state: ConversationState) -> None:
        # When and where, for pruning (streams.pruning): the table's partition is the one of
        # the record being handled.
        event = faust.current_event()
        partition = event.message.partition if event is not None else state.partition
        stamped = state.model_copy(
            update={"touched_at": epoch_ms(self._clock), "partition": partition}
        )
        raw = stamped.to_json()
        self._table[key.encode()] = raw
        self._parsed.pop(key, None)
        if len(self._parsed) >= self._keep:
            del self._parsed[next(iter(self._parsed))]  # the one written longest ago
        self._parsed[key] = (raw, stamped)

    def delete(self, key: str) -> None:
        self._parsed.pop(key, None)
        if key.encode() in self._table:
            del self._table[key.encode()]  # a tombstone in the changelog

    async def prunable(
        self, policy: PrunePolicy, partitions: set[int]
    ) -> AsyncIterator[tuple[str, int]]:
        """Keys (and partitions) of finished conversations due for pruning in ``partitions``.
        A full scan (run it rarely: STATE_PRUNE_INTERVAL_SECONDS) that lets the event loop
        run between batches: 0.6 s or so per 200,000 entries would otherwise hold up the
        agent and the group's heartbeats."""
        now = epoch_ms(self._clock)
        # The keys first: the table changes while the scan yields, and a store's iterator
        # would not survive that.
        for seen, raw_key in enumerate(list(self._table.keys()), start=1):
            if seen % _SCAN_BATCH == 0:
                await asyncio.sleep(0)
            raw = self._table.get(raw_key)
            # Only a conversation marked finished can be due: skip the rest unparsed.
            if not raw or not any(mark in raw for mark in _FINISHED_MARKS):
                continue
            state = ConversationState.from_json(raw)
            if state.partition in partitions and policy.due(state, now):
                yield raw_key.decode(), state.partition

    def collect_writes(self) -> list[FutureMessage]:
        """This task's changes from now on, to await (:mod:`streams.seam.changelog`)."""
        return ChangelogTable.collect()

    async def written(self, writes: list[FutureMessage]) -> None:
        await self._table.written(writes)

    def waiting(
        self, partitions: set[int], events: WaitingEvents
    ) -> list[tuple[str, str, list[ParkedEvent]]]:
        """(key, tenant, what can run next) of the conversations with waiting events in
        ``partitions``; a full scan, so rebalances only."""
        found = []
        for raw_key, raw in self._table.items():
            if not raw or _idle(raw):
                continue
            key, state = raw_key.decode(), ConversationState.from_json(raw)
            candidates = legacy_candidates(state) or [
                slot.event for slot in events.candidates(key, state)
            ]
            if candidates and candidates[0].partition in partitions:
                found.append((key, state.tenant_id, candidates))
        return found


def _idle(raw: bytes) -> bool:
    idle = _IDLE.search(raw)
    if idle is not None:
        return idle.group(1) == idle.group(2)
    return all(empty in raw for empty in _IDLE_LEGACY)


class TableEntries:
    """The waiting table (str keys, raw values): one waiting event, or one mark, per entry."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str) -> bytes | None:
        raw: bytes | None = self._table.get(key.encode())
        return raw

    def put(self, key: str, value: bytes) -> None:
        self._table[key.encode()] = value

    def delete(self, key: str) -> None:
        # A tombstone in the changelog: compaction removes the entry for good.
        raw_key = key.encode()
        if raw_key in self._table:
            del self._table[raw_key]


class KafkaOutputs:
    """Audit records and dead letters, sent through Faust's producer; the agent awaits their
    delivery before the ack (:mod:`streams.delivery`)."""

    def __init__(
        self,
        audit_topic: faust.TopicT,
        dlq_topic: faust.TopicT,
        metrics: Metrics,
        deliveries: Deliveries,
        summary: SummaryWriter,
        *,
        max_record_bytes: int,
    ) -> None:
        self._audit = audit_topic
        self._dlq = dlq_topic
        self._metrics = metrics
        self._deliveries = deliveries
        self._summary = summary
        # The producer's max.request.size: a dead letter is cut to fit it (streams.dead_letters).
        self._max_record_bytes = max_record_bytes

    async def audit(self, record: AuditRecord) -> None:
        key = record.conversation_id.encode() if record.conversation_id else None
        await self._deliveries.send("audit", self._audit, key, record.to_json())
        self._metrics.audited(record)
        self._summary.add(record.model_dump(mode="json", by_alias=True))

    async def dead_letter(self, source: SourceRecord, failure: Failure) -> None:
        letter = dead_letter_record(
            source.key, source.value, source.headers,
            Origin(source.topic, source.partition, source.offset), failure,
            max_bytes=self._max_record_bytes,
        )  # fmt: skip
        await self._deliveries.send("dlq", self._dlq, letter.key, letter.value, letter.headers)
        self._metrics.dead_lettered(failure.reason)


class ReplayGuard:
    """Says whether a record may already have been applied by an earlier, unfinished run.

    Records below a partition's end offset at the time we took it over were produced before
    we owned it: a previous owner (or we, before a crash) may have written them to Vitally
    without the table remembering. Those are checked against Vitally before any create;
    records that arrive after the takeover are new and cost no extra call.
    """

    def __init__(self, app: faust.App) -> None:
        self._app = app
        self._horizon: dict[TP, int] = {}

    async def take_over(self, assigned: set[TP]) -> None:
        self._horizon = dict(await self._app.consumer.highwaters(*assigned)) if assigned else {}

    async def maybe_applied(self, record: SourceRecord) -> bool:
        tp = TP(record.topic, record.partition)
        if tp not in self._horizon:
            self._horizon.update(await self._app.consumer.highwaters(tp))
        return record.offset < self._horizon.get(tp, 0)
