"""How every Kafka client of the service connects: one settings object, one place that turns it
into each client library's configuration.

The service talks to Kafka through three libraries: Faust (its aiokafka consumer, producer
and admin client), plain aiokafka (:mod:`integrations.tail`) and confluent-kafka (topic
creation, the offset probe, start offsets, the CLI's one-shot readers and writers, replay).
Each spells security differently; :class:`KafkaSettings` is read from the environment once
and :func:`confluent_config`, :func:`aiokafka_config` and
:func:`streams.faust_credentials.faust_credentials` (Faust is the stream layer's) give each
library the same broker, protocol, mechanism, credentials and certificates.

=============================  ==============================================================
``KAFKA_BOOTSTRAP_SERVERS``    ``host:port[,host:port]`` (default ``127.0.0.1:9092``)
``KAFKA_SECURITY_PROTOCOL``    ``PLAINTEXT`` (default), ``SSL``, ``SASL_PLAINTEXT``, ``SASL_SSL``
``KAFKA_SASL_MECHANISM``       ``PLAIN`` (default with SASL), ``SCRAM-SHA-256``, ``SCRAM-SHA-512``
``KAFKA_SASL_USERNAME``        required with SASL
``KAFKA_SASL_PASSWORD``        required with SASL (a secret: never logged or echoed)
``KAFKA_SSL_CA_FILE``          PEM CA bundle for the broker's certificate (system CAs if unset)
``KAFKA_SSL_CERT_FILE``        PEM client certificate, for brokers that require mutual TLS
``KAFKA_SSL_KEY_FILE``         PEM key of that certificate
=============================  ==============================================================
"""

from __future__ import annotations

import logging
import ssl
from typing import Any, Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# librdkafka's own log lines go through Python logging (the CLI quiets them; the worker shows
# them with its other logs) instead of straight to stderr.
LIBRDKAFKA_LOG = logging.getLogger("librdkafka")

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSettings(BaseSettings):
    """Where the brokers are and how to authenticate to them (environment, see above)."""

    # hide_input_in_errors: a bad setting must not echo a password into a log.
    model_config = SettingsConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_file: str | None = None
    kafka_ssl_cert_file: str | None = None
    kafka_ssl_key_file: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> KafkaSettings:
        if self.uses_sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        if bool(self.kafka_ssl_cert_file) != bool(self.kafka_ssl_key_file):
            raise ValueError("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together")
        return self

    @property
    def uses_sasl(self) -> bool:
        return self.kafka_security_protocol.startswith("SASL_")

    @property
    def uses_ssl(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of the aiokafka clients (None without TLS)."""
        if not self.uses_ssl:
            return None
        context = ssl.create_default_context(cafile=self.kafka_ssl_ca_file)
        if self.kafka_ssl_cert_file and self.kafka_ssl_key_file:
            context.load_cert_chain(self.kafka_ssl_cert_file, self.kafka_ssl_key_file)
        return context


def confluent_config(kafka: KafkaSettings, **extra: Any) -> dict[str, Any]:
    """A confluent-kafka (librdkafka) client's configuration, plus ``extra`` (its own keys)."""
    config: dict[str, Any] = {
        "bootstrap.servers": kafka.kafka_bootstrap_servers,
        "security.protocol": kafka.kafka_security_protocol.lower(),
        "logger": LIBRDKAFKA_LOG,
    }
    if kafka.uses_sasl:
        password = kafka.kafka_sasl_password
        config["sasl.mechanism"] = kafka.kafka_sasl_mechanism
        config["sasl.username"] = kafka.kafka_sasl_username
        config["sasl.password"] = password.get_secret_value() if password else None
    if kafka.uses_ssl:
        if kafka.kafka_ssl_ca_file:
            config["ssl.ca.location"] = kafka.kafka_ssl_ca_file
        if kafka.kafka_ssl_cert_file:
            config["ssl.certificate.location"] = kafka.kafka_ssl_cert_file
        if kafka.kafka_ssl_key_file:
            config["ssl.key.location"] = kafka.kafka_ssl_key_file
    config.update(extra)
    return config


def aiokafka_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for an aiokafka client (``AIOKafkaConsumer(topic, **...)``)."""
    config: dict[str, Any] = {
        "bootstrap_servers": kafka.kafka_bootstrap_servers,
        "security_protocol": kafka.kafka_security_protocol,
    }
    if kafka.uses_sasl:
        password = kafka.kafka_sasl_password
        config["sasl_mechanism"] = kafka.kafka_sasl_mechanism
        config["sasl_plain_username"] = kafka.kafka_sasl_username
        config["sasl_plain_password"] = password.get_secret_value() if password else None
    if kafka.uses_ssl:
        config["ssl_context"] = kafka.ssl_context()
    return config
