"""Topics with TOPIC_REPLICATION_FACTOR unset (-1): the broker's default.replication.factor for
the topics the worker creates (NewTopic's -1, Kafka 2.4+) and, read from the broker, for
Faust's changelog."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    ResourceType,
)

from streams.settings import ClientSettings
from streams.topics import ensure_topics, replication_factor
from tests.fixtures.kafka import KafkaBroker

pytestmark = [pytest.mark.kafka]


def _broker_default(admin: AdminClient) -> int:
    metadata = admin.list_topics(timeout=30)
    resource = ConfigResource(ResourceType.BROKER, str(min(metadata.brokers)))
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    return int(configs["default.replication.factor"].value)


def test_unset_replication_is_the_brokers_default(kafka_bootstrap: KafkaBroker) -> None:
    name = f"rf{uuid.uuid4().hex[:8]}"
    settings = ClientSettings(
        kafka_bootstrap_servers=kafka_bootstrap.bootstrap_servers, app_id=name,
        input_topic=f"{name}.in", audit_topic=f"{name}.audit", dlq_topic=f"{name}.dlq",
        integrations_topic=f"{name}.integrations", retry_topic=f"{name}.retry",
        audit_summary_topic=f"{name}.audit-summary", source_walks_topic=f"{name}.source-walks",
        topic_partitions=2,
    )  # fmt: skip
    assert settings.topic_replication_factor == -1
    layout = ensure_topics(settings)
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap.bootstrap_servers})
    default = _broker_default(admin)
    assert layout.input_partitions == 2 and layout.replication_factor == default
    topics = admin.list_topics(timeout=30).topics
    for topic in (settings.input_topic, settings.retry_topic, settings.integrations_topic,
                  settings.audit_summary_topic, settings.source_walks_topic):  # fmt: skip
        assert all(len(p.replicas) == default for p in topics[topic].partitions.values())
    # Only the latest sync counts per tenant and partition, and the latest progress of each
    # walk, are ever read.
    for compacted in (settings.audit_summary_topic, settings.source_walks_topic):
        resource = ConfigResource(ResourceType.TOPIC, compacted)
        configs = admin.describe_configs([resource])[resource].result(timeout=30)
        assert configs["cleanup.policy"].value == "compact", compacted
    assert replication_factor(admin, 3) == 3  # a configured factor is taken as is
