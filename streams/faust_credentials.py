"""Faust's ``broker_credentials`` from the one Kafka settings object
(:mod:`integrations.kafka_config`, which turns it into every other library's configuration;
Faust is known only to the stream layer)."""

from __future__ import annotations

import faust

from integrations.kafka_config import KafkaSettings


def faust_credentials(kafka: KafkaSettings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """Faust's ``broker_credentials``: what its own aiokafka clients authenticate with."""
    if kafka.uses_sasl:
        password = kafka.kafka_sasl_password
        return faust.SASLCredentials(
            username=kafka.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            ssl_context=kafka.ssl_context(),  # SASL_SSL with one, SASL_PLAINTEXT without
            mechanism=kafka.kafka_sasl_mechanism,
        )
    if kafka.uses_ssl:
        return faust.SSLCredentials(kafka.ssl_context())
    return None
