"""What the read-only tools take from the environment: where the audit topic is, nothing secret.

The worker's :class:`streams.settings.Settings` requires ADMIN_API_TOKEN and SECRETS_KEY; an
analyst reading the audit topic must not need either, so the tools read only these names
(the same variables, with the same defaults).
"""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from integrations.kafka_config import KafkaSettings


class ReaderSettings(KafkaSettings):
    """Kafka's connection (KAFKA_BOOTSTRAP_SERVERS and its security settings), AUDIT_TOPIC,
    DLQ_TOPIC and INPUT_TOPIC; command-line flags override them."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    audit_topic: str = "vitally-sync.audit"
    # Read by `dlq`; re-driven records go back to the topic each one names as its source.
    dlq_topic: str = "vitally-sync.dlq"
    # The audit topic is created with the input's partition count (streams/topics.py): when
    # the two differ, partitions were added and keys may have moved.
    input_topic: str = "unthread.conversation-events"
