"""The console's dead letters on a real broker: a tenant's newest among the last records of
the DLQ (bounded), and their re-drive through ``vitally-sync dlq``'s Redriver, dry run and
executed, only ever of that tenant's dead letters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.admin import AdminClient

from integrations.kafka_config import KafkaSettings
from schemas.dead_letter import REDRIVEN_FROM, Failure, Origin
from streams.dead_letters import dead_letter_record
from streams.web.console import dead_letters
from streams.web.console.dead_letters import DeadLetters
from tests.fixtures.kafka import (
    KafkaBroker,
    OutRecord,
    consume_all,
    create_topic,
    produce,
    unique_name,
)

pytestmark = pytest.mark.kafka


@pytest.fixture
def topics(kafka_bootstrap: KafkaBroker) -> Iterator[tuple[str, str, str]]:
    bootstrap = kafka_bootstrap.bootstrap_servers
    dlq, source = unique_name("console-dlq"), unique_name("console-in")
    create_topic(bootstrap, dlq, 1)
    create_topic(bootstrap, source, 6)
    yield bootstrap, dlq, source
    AdminClient({"bootstrap.servers": bootstrap}).delete_topics([dlq, source])


def test_a_tenants_dead_letters_are_its_newest_in_the_dlqs_tail_and_redrive_only_its_own(
    topics: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap, dlq, source = topics
    monkeypatch.setattr(dead_letters, "TAIL", 5)

    def letter(tenant: str, conversation: str, n: int) -> OutRecord:
        failure = Failure("vitally_rejected", "rejected", "sync", "E", 1, n, n, tenant)
        record = dead_letter_record(conversation.encode(), b"{}", [("traceparent", b"t")],
                                    Origin(source, 3, n), failure, max_bytes=1_000_000)  # fmt: skip
        return record.key, record.value, list(record.headers)

    produce(bootstrap, dlq, [
        *(letter("T1", f"c-old-{n}", n) for n in range(3)),  # offsets 0-2: outside the tail
        *(letter("T2", f"c-other-{n}", 3 + n) for n in range(5)),  # offsets 3-7
        letter("T1", "c-new", 8),  # offset 8
    ])  # fmt: skip
    shelf = DeadLetters(KafkaSettings(kafka_bootstrap_servers=bootstrap), dlq)
    assert [f.conversation_id for f in shelf.recent("T1")] == ["c-new"]
    assert [f.offset for f in shelf.recent("T2")] == [7, 6, 5, 4]  # newest first, in the tail

    dry = shelf.redrive("T1", [(0, 0), (0, 8), (0, 4), (5, 0)], execute=False)
    assert dry.sent is None
    assert [(p.source.offset, p.topic, p.partition) for p in dry.plans] == [
        (0, source, 3), (8, source, 3),
    ]  # fmt: skip
    assert consume_all(bootstrap, source, timeout_s=2) == []

    done = shelf.redrive("T1", [(0, 0), (0, 8), (0, 4)], execute=True)
    assert done.sent is not None and len(done.sent) == 2
    sent = consume_all(bootstrap, source, timeout_s=10, expected_count=2)
    assert sorted((r.key, r.partition) for r in sent) == [(b"c-new", 3), (b"c-old-0", 3)]
    assert all(r.headers[0] == ("traceparent", b"t") for r in sent)
    assert {dict(r.headers)[REDRIVEN_FROM] for r in sent} == {
        f"{dlq}/0/0".encode(),
        f"{dlq}/0/8".encode(),
    }
