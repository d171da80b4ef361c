"""`vitally-sync audit` and `why` against a real broker, on audit topics of their own.

Records are produced the way the worker produces them: through aiokafka with its default
partitioner (what Faust's producer uses), keyed by conversation id.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from confluent_kafka.admin import AdminClient

from ops.trail import key_partition
from schemas.audit_reasons import GUIDE
from streams.cli import main
from tests.fixtures.kafka import KafkaBroker, consume_all, create_topic, unique_name
from tests.unit.ops_records import audit_json

pytestmark = pytest.mark.kafka

PARTITIONS = 6
HOUR = 3_600_000
CLI = str(Path(sys.executable).parent / "vitally-sync")


@dataclass(frozen=True)
class Topics:
    bootstrap: str
    audit: str
    input: str

    def env(self) -> dict[str, str]:
        """Only what the tools read: no ADMIN_API_TOKEN, no SECRETS_KEY."""
        return {
            "PATH": os.environ["PATH"],
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "AUDIT_TOPIC": self.audit,
            "INPUT_TOPIC": self.input,
        }


@pytest.fixture
def topics(kafka_bootstrap: KafkaBroker) -> Iterator[Topics]:
    bootstrap = kafka_bootstrap.bootstrap_servers
    found = Topics(bootstrap, unique_name("ops-audit"), unique_name("ops-input"))
    create_topic(bootstrap, found.audit, PARTITIONS)
    create_topic(bootstrap, found.input, PARTITIONS)
    yield found
    AdminClient({"bootstrap.servers": bootstrap}).delete_topics([found.audit, found.input])


async def produce_like_the_worker(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            key = json.loads(value)["conversationId"].encode()
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


def run(topics: Topics, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
        [CLI, *args], env=topics.env(), capture_output=True, text=True, timeout=60, check=False
    )


def trail_values(now: int) -> list[bytes]:
    trail = partial(audit_json, tenant="T01ACME", conversation="c-trail")
    return [
        trail(at=now - 3000, offset=1),
        trail(
            event="message_created", message="m-2", outcome="parked",
            reason="customer_not_in_vitally", at=now - 2000, offset=2,
        ),
        trail(event="message_created", message="m-2", outcome="synced", at=now - 1000, offset=2),
    ]  # fmt: skip


async def test_records_land_on_the_partition_the_tools_compute(topics: Topics) -> None:
    values = [audit_json(conversation=f"conv-{i:03d}", offset=i) for i in range(120)]
    await produce_like_the_worker(topics.bootstrap, topics.audit, values)
    records = consume_all(topics.bootstrap, topics.audit, 30, expected_count=len(values))
    assert len(records) == len(values)
    assert len({r.partition for r in records}) == PARTITIONS  # the keys spread over all
    for record in records:
        assert record.key is not None
        assert record.partition == key_partition(record.key, PARTITIONS), record.key


async def test_why_prints_the_trail_from_the_conversations_partition(topics: Topics) -> None:
    now = int(time.time() * 1000)
    noise = [audit_json(conversation=f"other-{i}", at=now, offset=i) for i in range(30)]
    await produce_like_the_worker(topics.bootstrap, topics.audit, noise + trail_values(now))
    done = run(topics, "why", "--tenant", "T01ACME", "--conversation", "c-trail")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    partition = key_partition(b"c-trail", PARTITIONS)
    assert lines[0] == (
        f"conversation c-trail of tenant T01ACME: 3 audit records "
        f"({topics.audit}, partition {partition})"
    )
    assert lines[1].split() == ["time", "event", "message", "outcome", "reason", "detail"]
    assert [line.split()[1:] for line in lines[2:4]] == [
        ["conversation_created", "synced"],
        ["message_created", "m-2", "parked", "customer_not_in_vitally"],
    ]
    assert lines[4] == f"    fix: {GUIDE['customer_not_in_vitally'].fix}"
    assert lines[5].split()[1:] == ["message_created", "m-2", "synced"]
    assert done.stderr == ""  # not a terminal: no progress bar


async def test_why_reads_every_partition_when_the_counts_differ(
    topics: Topics, capsys: pytest.CaptureFixture[str]
) -> None:
    now = int(time.time() * 1000)
    await produce_like_the_worker(topics.bootstrap, topics.audit, trail_values(now))
    other_input = unique_name("ops-input3")
    create_topic(topics.bootstrap, other_input, 3)
    code = main(
        ["why", "--tenant", "T01ACME", "--conversation", "c-trail", "--format", "json",
         "--bootstrap-servers", topics.bootstrap, "--topic", topics.audit,
         "--input-topic", other_input],
    )  # fmt: skip
    AdminClient({"bootstrap.servers": topics.bootstrap}).delete_topics([other_input])
    assert code == 0
    steps = json.loads(capsys.readouterr().out)
    assert [(s["outcome"], s["reason"]) for s in steps] == [
        ("synced", None),
        ("parked", "customer_not_in_vitally"),
        ("synced", None),
    ]
    # No input topic to compare with: its partition count cannot be trusted either.
    table = run(topics, "why", "--tenant", "T01ACME", "--conversation", "c-trail",
                "--input-topic", unique_name("ops-absent"))  # fmt: skip
    assert table.stdout.splitlines()[0].endswith(f"({topics.audit}, all partitions)")


async def test_why_of_an_unknown_conversation_exits_1(topics: Topics) -> None:
    await produce_like_the_worker(topics.bootstrap, topics.audit, [audit_json()])
    done = run(topics, "why", "--tenant", "T01ACME", "--conversation", "c-nobody")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("no audit records of conversation c-nobody of tenant T01ACME")


async def test_audit_counts_per_tenant_since_a_time(
    topics: Topics, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = int(time.time() * 1000)
    values = [
        *trail_values(now),
        audit_json(tenant="T02BETA", outcome="skipped", reason="private_note", at=now),
        # Produced now, but processed two hours ago: outside --since 1h.
        audit_json(tenant="T02BETA", outcome="skipped", reason="empty_message", at=now - 2 * HOUR),
    ]
    await produce_like_the_worker(topics.bootstrap, topics.audit, values)
    out = tmp_path / "counts.json"
    code = main(
        ["audit", "--since", "1h", "--format", "json", "--output", str(out),
         "--bootstrap-servers", topics.bootstrap, "--topic", topics.audit],
    )  # fmt: skip
    assert code == 0 and capsys.readouterr().out == ""
    report = json.loads(out.read_text())
    assert report["recordsRead"] == 5
    acme, beta = report["tenants"]
    assert acme["tenantId"] == "T01ACME" and acme["byOutcome"] == {"parked": 1, "synced": 2}
    assert beta == {
        "tenantId": "T02BETA",
        "total": 1,
        "byOutcome": {"skipped": 1},
        "byReason": {"private_note": 1},
        "counts": [{"outcome": "skipped", "reason": "private_note", "count": 1}],
    }
    done = run(topics, "audit", "--tenant", "T02BETA", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "tenant,outcome,reason,count",
        "T02BETA,skipped,empty_message,1",
        "T02BETA,skipped,private_note,1",
    ]


def test_a_missing_topic_is_one_line_and_exit_2_and_stays_missing(topics: Topics) -> None:
    missing = unique_name("ops-missing")
    done = run(topics, "audit", "--topic", missing)
    assert done.returncode == 2
    assert (
        done.stderr == f"vitally-sync audit: topic {missing} does not exist on {topics.bootstrap}\n"
    )
    listed = AdminClient({"bootstrap.servers": topics.bootstrap}).list_topics(timeout=10)
    assert missing not in listed.topics


def test_an_unreachable_broker_is_one_line_and_exit_2(topics: Topics) -> None:
    done = run(topics, "why", "--tenant", "T", "--conversation", "c",
               "--bootstrap-servers", "127.0.0.1:1", "--timeout", "2")  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("vitally-sync why: cannot reach Kafka at 127.0.0.1:1: ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
