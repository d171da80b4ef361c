"""The topics the worker makes before Faust starts. With TOPIC_REPLICATION_FACTOR unset (-1):
the broker's default.replication.factor for the topics the worker creates (NewTopic's -1,
Kafka 2.4+) and, read from the broker, for Faust's changelog. Faust's own topics are made up
front too, so that each is in the group's first assignment."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    ResourceType,
)
from cryptography.fernet import Fernet

from streams.app import create_app
from streams.seam.faust_topics import faust_topics
from streams.settings import ClientSettings, Settings
from streams.topics import TopicLayout, ensure_faust_topics, ensure_topics, replication_factor
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


def test_fausts_own_topics_are_in_metadata_before_the_worker_joins(
    kafka_bootstrap: KafkaBroker,
) -> None:
    """Each table's changelog and Faust's leader topic are made up front, as Faust would
    make them: one missing from metadata when the worker joins is left out of the group's
    assignment, and its table is never recovered after a restart."""
    name = f"ft{uuid.uuid4().hex[:8]}"
    settings = Settings.model_validate({
        "admin_api_token": "t" * 16, "secrets_key": Fernet.generate_key().decode(),
        "kafka_bootstrap_servers": kafka_bootstrap.bootstrap_servers, "app_id": name,
        "input_topic": f"{name}.in",
    })  # fmt: skip
    app = create_app(settings, TopicLayout(input_partitions=3, replication_factor=1))
    wanted = faust_topics(app)
    assert {t.name: (t.partitions, t.config) for t in wanted} == {
        f"{name}-conversations-changelog": (3, {"cleanup.policy": "compact"}),
        f"{name}-waiting-changelog": (3, {"cleanup.policy": "compact"}),
        f"{name}-__assignor-__leader": (1, {}),
    }
    ensure_faust_topics(settings, wanted)
    ensure_faust_topics(settings, wanted)  # made already: left as they are
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap.bootstrap_servers})
    topics = admin.list_topics(timeout=30).topics
    for topic in wanted:
        assert len(topics[topic.name].partitions) == topic.partitions, topic.name
        resource = ConfigResource(ResourceType.TOPIC, topic.name)
        configs = admin.describe_configs([resource])[resource].result(timeout=30)
        assert configs["cleanup.policy"].value == topic.config.get("cleanup.policy", "delete")
