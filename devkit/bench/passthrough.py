"""The CPU ceiling: a Faust agent that only turns each input record into an audit record.

``python -m bench.passthrough worker -l info`` runs it, configured by the same environment
variables as the worker (KAFKA_BOOTSTRAP_SERVERS, APP_ID, INPUT_TOPIC, AUDIT_TOPIC,
TOPIC_PARTITIONS, WEB_PORT, DATA_DIR). It reads, parses, writes an audit record and acks,
with the same broker settings as vitally-sync (acks=all, 1 s commit interval) and no Vitally
call, so it is what Faust, Kafka and this machine allow at best; vitally-sync at 0 ms Vitally
latency is compared with it.

At ``-l info``, as the worker runs: at ``warn`` or above, Faust's worker puts a terminal
spinner on the root logger and sets that logger to DEBUG, so every debug call in Faust and
aiokafka builds a log record for the spinner to turn on (8% of the floor agent's samples).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import faust
from faust.types import StreamT


def create_app(env: dict[str, str]) -> faust.App:
    app, source, audit = faust_app(env)

    @app.agent(source)
    async def passthrough(stream: StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            record = audit_record(message.topic, message.partition, message.offset, event.value)
            await audit.send(key=message.key, value=record)

    return app


def faust_app(env: dict[str, str]) -> tuple[faust.App, faust.TopicT, faust.TopicT]:
    """The app with vitally-sync's broker settings, its input topic and its audit topic."""
    partitions = int(env.get("TOPIC_PARTITIONS", "8"))
    app = faust.App(
        env["APP_ID"],
        broker=f"kafka://{env['KAFKA_BOOTSTRAP_SERVERS']}",
        store="memory://",
        datadir=env.get("DATA_DIR", f"{env['APP_ID']}-data"),
        topic_partitions=partitions,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        producer_acks=-1,
        web_host="127.0.0.1",
        web_port=int(env.get("WEB_PORT", "6066")),
        web_in_thread=False,
        autodiscover=False,
    )
    source = app.topic(
        env["INPUT_TOPIC"], partitions=partitions, key_serializer="raw", value_serializer="raw"
    )
    audit = app.topic(
        env["AUDIT_TOPIC"], partitions=partitions, key_serializer="raw", value_serializer="raw"
    )
    return app, source, audit


def audit_record(topic: str, partition: int, offset: int, value: bytes | None) -> bytes:
    event: dict[str, Any] = json.loads(value or b"{}")
    data = event.get("data") or {}
    initial = data.get("initialMessage") or {}
    created = event.get("event") == "conversation_created"
    return json.dumps(
        {
            "tenantId": event.get("tenantId"),
            "conversationId": data.get("id") if created else data.get("conversationId"),
            "messageId": initial.get("id") if created else data.get("id"),
            "event": event.get("event"),
            "eventId": event.get("eventId"),
            "source": {"topic": topic, "partition": partition, "offset": offset},
            # Not an audit outcome: this topic is the benchmark's own, and says what happened.
            "outcome": "passthrough",
            "reason": None,
            "apiCalls": 0,
            "eventTimestamp": event.get("eventTimestamp"),
            "processedAt": int(time.time() * 1000),
        }
    ).encode()


if __name__ == "__main__":
    create_app(dict(os.environ)).main()
