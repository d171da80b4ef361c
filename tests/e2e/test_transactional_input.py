"""Input from an exactly-once upstream: every transaction leaves a marker at an offset that
holds no record. The worker must step over those holes at once (the broker says nothing is
there) and never mistake them for records it missed, or the other way round."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient
from demo.events import Record, new_conversation, reply

from integrations.kafka_config import KafkaSettings
from streams.seam.probe import OffsetProbe
from tests.fixtures.kafka import (
    KafkaBroker,
    create_topic,
    produce,
    produce_in_transactions,
    unique_name,
)
from tests.fixtures.sandbox import SandboxHandle
from tests.fixtures.worker import Deployment

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

TENANT = "T01ACME"


async def test_the_probe_tells_markers_from_records(kafka_bootstrap: KafkaBroker) -> None:
    bootstrap = kafka_bootstrap.bootstrap_servers
    topic = unique_name("probe")
    create_topic(bootstrap, topic)
    produce_in_transactions(bootstrap, topic, [(b"k", b"a", []), (b"k", b"b", [])])
    produce(bootstrap, topic, [(b"k", b"c", [])])
    # Records at 0, 2 and 4; commit markers at 1 and 3.
    probe = OffsetProbe(KafkaSettings(kafka_bootstrap_servers=bootstrap))
    try:
        assert await probe.first_record(topic, 0, 0, until=2) == 0
        assert await probe.first_record(topic, 0, 1, until=2) == 2  # a marker, nothing else
        assert await probe.first_record(topic, 0, 3, until=4) == 4
    finally:
        probe.close()


async def test_the_probe_finds_the_log_start_when_retention_removed_records(
    kafka_bootstrap: KafkaBroker,
) -> None:
    bootstrap = kafka_bootstrap.bootstrap_servers
    topic = unique_name("probe-retention")
    create_topic(bootstrap, topic)
    produce(bootstrap, topic, [(b"k", value, []) for value in (b"a", b"b", b"c", b"d")])
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.delete_records([TopicPartition(topic, 0, 2)])[TopicPartition(topic, 0, 2)].result(30)
    probe = OffsetProbe(KafkaSettings(kafka_bootstrap_servers=bootstrap))
    try:
        # A committed offset from before retention ran: the next record is the log start.
        assert await probe.first_record(topic, 0, 0, until=3) == 2
    finally:
        probe.close()


def test_events_produced_in_transactions_all_sync_once_and_in_order(
    deployed: Deployment, sandbox: SandboxHandle
) -> None:
    sandbox.add_org(
        "acme",
        tokens=["acme-secret-1"],
        users=[{"email": "jane@customer.example", "name": "Jane Doe"}],
        admins=[{"email": "sam@vendor.example", "name": "Sam Agent", "licenseStatus": "active"}],
    )
    deployed.connect(TENANT, subdomain="acme", api_key="acme-secret-1", admin="sam@vendor.example")
    deployed.start_worker()

    start = datetime.now(UTC)
    records: list[Record] = []
    for c in range(8):
        conversation = f"c-tx-{c}"
        at = start + timedelta(seconds=c)
        records.append(new_conversation(
            TENANT, conversation, submitter="jane@customer.example",
            assignee="sam@vendor.example", title=f"Question {c}", text="Hello", at=at,
        ))  # fmt: skip
        for m in range(1, 4):
            records.append(reply(
                TENANT, conversation, f"reply {m}", sender="sam@vendor.example",
                support=True, at=at + timedelta(milliseconds=m), message_id=f"{conversation}-m{m}",
            ))  # fmt: skip
    produced = deployed.produce(records, transactional=True)

    audit = deployed.audit(expected=produced, timeout=90)
    assert Counter(a["outcome"] for a in audit) == Counter({"synced": produced})
    conversations = {c["externalId"]: c for c in sandbox.conversations("acme")}
    assert len(conversations) == 8
    for name, stored in conversations.items():
        assert [m["externalId"] for m in stored["messages"]][1:] == [
            f"{name}-m1", f"{name}-m2", f"{name}-m3"
        ]  # fmt: skip
    assert "records missed" not in deployed.workers[0].log_tail(400)
