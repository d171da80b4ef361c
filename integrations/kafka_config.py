"""How every Kafka client of the service connects: one settings object, one place that turns it
into each client library's configuration.

The service talks to Kafka through three libraries: Faust (its aiokafka consumer, producer
and admin client), plain aiokafka (:mod:`integrations.tail`) and confluent-kafka (topic
creation, the offset probe, start offsets, the CLI's one-shot readers and writers, replay).
Each spells security differently; :class:`KafkaSettings` is read from the environment once
and :func:`confluent_config`, :func:`aiokafka_config` and
:func:`streams.faust_credentials.faust_credentials` (Faust is the stream layer's) give each
library the same broker, protocol, mechanism, credentials and certificates.

Each variable, with what it accepts, is in docs/interfaces.md (Environment), generated from
the fields' descriptions below. Platforms' own spellings are accepted as well: ``KAFKA_URL``
and ``kafka+ssl://host:port`` URLs for the brokers, PEM text for the certificates and key
(:mod:`integrations.kafka_pem`).
"""

from __future__ import annotations

import logging
import ssl
from typing import Any, Literal

from aiokafka import codec as aiokafka_codec
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from integrations import kafka_pem
from schemas.kafka_limits import PRODUCER_MAX_REQUEST_BYTES

# librdkafka's own log lines go through Python logging (the CLI quiets them; the worker shows
# them with its other logs) instead of straight to stderr.
LIBRDKAFKA_LOG = logging.getLogger("librdkafka")

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSettings(BaseSettings):
    """Where the brokers are and how to authenticate to them (environment, see above)."""

    # hide_input_in_errors: a bad setting must not echo a password into a log.
    model_config = SettingsConfigDict(frozen=True, extra="ignore", hide_input_in_errors=True)

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("kafka_bootstrap_servers", "kafka_url"),
        description="the brokers: `host:port[,host:port]`, or URLs such as "
        "`kafka+ssl://host:port,kafka+ssl://host2:port` (as Heroku's Kafka add-on sets "
        "`KAFKA_URL`); `kafka+ssl://` URLs mean `SSL` unless `KAFKA_SECURITY_PROTOCOL` says "
        "otherwise",
    )
    kafka_security_protocol: SecurityProtocol = Field(
        "PLAINTEXT",
        description="for every Kafka client of the service (Faust's, aiokafka's, "
        "confluent-kafka's)",
    )
    kafka_sasl_mechanism: SaslMechanism = Field("PLAIN", description="with a `SASL_*` protocol")
    kafka_sasl_username: str | None = Field(None, description="SASL user; required with `SASL_*`")
    kafka_sasl_password: SecretStr | None = Field(
        None, description="SASL password, required with `SASL_*`: a secret, never logged or echoed"
    )
    kafka_ssl_ca_file: str | None = Field(
        None,
        validation_alias=AliasChoices("kafka_ssl_ca_file", "kafka_trusted_cert"),
        description="CA bundle for the brokers' certificates (`SSL`, `SASL_SSL`; the system's "
        "CAs when unset): a PEM file's path, or the PEM text itself",
        json_schema_extra={"shown_default": "system CAs"},
    )
    kafka_ssl_cert_file: str | None = Field(
        None,
        validation_alias=AliasChoices("kafka_ssl_cert_file", "kafka_client_cert"),
        description="client certificate, for brokers that require mutual TLS: a PEM file's "
        "path, or the PEM text itself",
    )
    kafka_ssl_key_file: str | None = Field(
        None,
        validation_alias=AliasChoices("kafka_ssl_key_file", "kafka_client_cert_key"),
        description="the client certificate's key: a PEM file's path, or the PEM text itself "
        "(written to a file only the process can read, removed at exit)",
    )
    kafka_ssl_check_hostname: bool = Field(
        True,
        description="check that a broker's certificate names its host; `false` for "
        "providers whose certificates do not (Heroku's Kafka add-on)",
    )

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _servers(cls, value: str) -> str:
        return ",".join(host for _, host in _brokers(value))

    @field_validator("kafka_ssl_ca_file", "kafka_ssl_cert_file", "kafka_ssl_key_file")
    @classmethod
    def _pem_to_path(cls, value: str | None, info: Any) -> str | None:
        return kafka_pem.as_path(value, info.field_name)

    @model_validator(mode="before")
    @classmethod
    def _ssl_from_urls(cls, data: Any) -> Any:
        """``kafka+ssl://`` URLs mean TLS: SSL when no protocol is given, refused without TLS."""
        if not isinstance(data, dict):
            return data
        given = {key.lower(): value for key, value in data.items()}
        servers = given.get("kafka_bootstrap_servers", given.get("kafka_url"))
        if not isinstance(servers, str) or "kafka+ssl" not in dict(_brokers(servers)):
            return data
        protocol = given.get("kafka_security_protocol")
        if protocol is None:
            return {**data, "kafka_security_protocol": "SSL"}
        if protocol not in ("SSL", "SASL_SSL"):
            raise ValueError(f"kafka+ssl:// brokers with KAFKA_SECURITY_PROTOCOL={protocol}")
        return data

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
        context.check_hostname = self.kafka_ssl_check_hostname
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
        if not kafka.kafka_ssl_check_hostname:
            config["ssl.endpoint.identification.algorithm"] = "none"
    config.update(extra)
    return config


def confluent_producer_config(kafka: KafkaSettings, **extra: Any) -> dict[str, Any]:
    """A confluent-kafka producer's configuration: :func:`confluent_config` with the request
    limit every producer of ours states (schemas/kafka_limits.py)."""
    return confluent_config(kafka, **{"message.max.bytes": PRODUCER_MAX_REQUEST_BYTES, **extra})


def missing_codecs() -> list[str]:
    """The compression codecs aiokafka (Faust's client, the integrations tail) cannot read.

    Producers may compress with any codec Kafka has; aiokafka reads gzip by itself and snappy,
    lz4 and zstd only through cramjam, and stops on the first batch it cannot decompress.
    librdkafka (confluent-kafka) is built with all four.
    """
    readable = {
        "snappy": aiokafka_codec.has_snappy(),
        "lz4": aiokafka_codec.has_lz4(),
        "zstd": aiokafka_codec.has_zstd(),
    }
    return [name for name, ok in readable.items() if not ok]


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


_SCHEMES = ("kafka", "kafka+ssl")


def _brokers(value: str) -> list[tuple[str, str]]:
    """``(scheme, host:port)`` for each broker of a list; a bare ``host:port`` is ``kafka``."""
    brokers = []
    for item in value.split(","):
        scheme, found, rest = item.strip().partition("://")
        if not found:
            scheme, rest = "kafka", scheme
        rest = rest.rstrip("/")
        if scheme.lower() not in _SCHEMES or not rest or "/" in rest:
            raise ValueError(
                f"broker {item.strip()!r}: expected host:port or kafka[+ssl]://host:port"
            )
        brokers.append((scheme.lower(), rest))
    return brokers
