"""A stand-in for the Kafka client under Faust's producer, for tests that run Faust's own
producer path (its buffer, ``Topic.publish_message``, the callbacks on a sent record)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import faust
import pytest
from faust.types import TP, RecordMetadata


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None
    answer: asyncio.Future[RecordMetadata]


class Broker:
    """The Kafka client under Faust's producer: each record Faust publishes waits for the
    test to answer it, as the broker would."""

    def __init__(self, app: faust.App, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[Sent] = []
        # Faust starts its producer before the first publish; there is no client to start.
        monkeypatch.setattr(app.producer, "maybe_start", self._started)
        monkeypatch.setattr(app.producer, "send", self._send)

    async def _started(self) -> None:
        return None

    async def _send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        answer: asyncio.Future[RecordMetadata] = asyncio.get_running_loop().create_future()
        self.sent.append(Sent(topic, key, value, partition, answer))
        return answer

    async def published(self, count: int) -> list[Sent]:
        """Once Faust's producer buffer has published ``count`` records."""
        async with asyncio.timeout(2):
            while len(self.sent) < count:
                await asyncio.sleep(0.001)
        return self.sent

    def ack(self, sent: Sent, offset: int) -> None:
        assert sent.partition is not None
        tp = TP(sent.topic, sent.partition)
        sent.answer.set_result(RecordMetadata(sent.topic, sent.partition, tp, offset))
