"""One KafkaSettings, the same broker and credentials for each client library."""

from __future__ import annotations

import re
import ssl
import tomllib
from pathlib import Path

import faust
import pytest
from pydantic import ValidationError

from integrations.kafka_config import KafkaSettings, aiokafka_config, confluent_config
from streams.faust_credentials import faust_credentials
from tests.fixtures.certificates import issue

SASL = {
    "kafka_bootstrap_servers": "b1:9093,b2:9093",
    "kafka_security_protocol": "SASL_PLAINTEXT",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "sync",
    "kafka_sasl_password": "s3cret",
}


def _ca(tmp_path: Path) -> tuple[str, str, str]:
    """A self-signed certificate and its key, as PEM files: (ca, cert, key)."""
    ca = issue("test-ca")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_text(ca.cert_pem)
    key_path.write_text(ca.key_pem)
    return str(cert_path), str(cert_path), str(key_path)


def test_plaintext_by_default() -> None:
    kafka = KafkaSettings(kafka_bootstrap_servers="k:9092")
    assert confluent_config(kafka)["security.protocol"] == "plaintext"
    assert "sasl.username" not in confluent_config(kafka)
    assert aiokafka_config(kafka) == {
        "bootstrap_servers": "k:9092",
        "security_protocol": "PLAINTEXT",
    }
    assert faust_credentials(kafka) is None


def test_sasl_reaches_every_library_alike() -> None:
    kafka = KafkaSettings.model_validate(SASL)
    confluent = confluent_config(kafka, **{"group.id": "g"})
    assert confluent["bootstrap.servers"] == "b1:9093,b2:9093" and confluent["group.id"] == "g"
    assert (confluent["security.protocol"], confluent["sasl.mechanism"]) == (
        "sasl_plaintext", "SCRAM-SHA-512",
    )  # fmt: skip
    assert (confluent["sasl.username"], confluent["sasl.password"]) == ("sync", "s3cret")
    aio = aiokafka_config(kafka)
    assert (aio["security_protocol"], aio["sasl_mechanism"]) == ("SASL_PLAINTEXT", "SCRAM-SHA-512")
    assert (aio["sasl_plain_username"], aio["sasl_plain_password"]) == ("sync", "s3cret")
    credentials = faust_credentials(kafka)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_PLAINTEXT"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == ("sync", "s3cret")
    assert "s3cret" not in repr(kafka)


def test_sasl_ssl_and_mutual_tls(tmp_path: Path) -> None:
    ca, cert, key = _ca(tmp_path)
    kafka = KafkaSettings.model_validate({
        **SASL, "kafka_security_protocol": "SASL_SSL", "kafka_ssl_ca_file": ca,
        "kafka_ssl_cert_file": cert, "kafka_ssl_key_file": key,
    })  # fmt: skip
    confluent = confluent_config(kafka)
    assert confluent["security.protocol"] == "sasl_ssl"
    assert (confluent["ssl.ca.location"], confluent["ssl.certificate.location"]) == (ca, cert)
    assert confluent["ssl.key.location"] == key
    assert isinstance(aiokafka_config(kafka)["ssl_context"], ssl.SSLContext)
    credentials = faust_credentials(kafka)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL" and credentials.ssl_context is not None


def test_ssl_alone(tmp_path: Path) -> None:
    ca, _, _ = _ca(tmp_path)
    kafka = KafkaSettings(kafka_security_protocol="SSL", kafka_ssl_ca_file=ca)
    assert confluent_config(kafka)["security.protocol"] == "ssl"
    assert "sasl.mechanism" not in confluent_config(kafka)
    credentials = faust_credentials(kafka)
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials.protocol.value == "SSL"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"kafka_security_protocol": "SASL_SSL"},
            "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
        ),
        ({"kafka_security_protocol": "TLS"}, "kafka_security_protocol"),
        ({**SASL, "kafka_sasl_mechanism": "GSSAPI"}, "kafka_sasl_mechanism"),
        (
            {"kafka_ssl_cert_file": "c.pem"},
            "KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together",
        ),
    ],
)
def test_incomplete_or_unknown_settings_are_refused(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        KafkaSettings.model_validate(settings)
    assert message in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SASL.items():
        monkeypatch.setenv(name.upper(), value)
    kafka = KafkaSettings()
    assert kafka.uses_sasl and kafka.kafka_sasl_username == "sync"


def test_no_client_is_configured_anywhere_else() -> None:
    """Every Kafka client of the service takes its configuration from kafka_config, so a
    security setting cannot miss one: nothing else names the bootstrap servers to a client."""
    root = Path(__file__).resolve().parents[2]
    own = root / "integrations" / "kafka_config.py"
    include = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {p.split(".")[0].rstrip("*") for p in include["packages"]["find"]["include"]}
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for package in sorted(packages)  # every service package, also ones added later
        for path in sorted((root / package).rglob("*.py"))
        if path != own
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if '"bootstrap.servers"' in line or "bootstrap_servers=" in line
    ]
    assert offenders == []


def test_heroku_style_urls_and_pem_text_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, cert, key = (Path(path).read_text() for path in _ca(tmp_path))
    # KAFKA_URL is read only when KAFKA_BOOTSTRAP_SERVERS is not set (a test run may set it).
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("KAFKA_URL", "kafka+ssl://b1.example:9096,kafka+ssl://b2.example:9096")
    monkeypatch.setenv("KAFKA_TRUSTED_CERT", ca)
    monkeypatch.setenv("KAFKA_CLIENT_CERT", cert)
    monkeypatch.setenv("KAFKA_CLIENT_CERT_KEY", key)
    monkeypatch.setenv("KAFKA_SSL_CHECK_HOSTNAME", "false")
    kafka = KafkaSettings()
    assert kafka.kafka_bootstrap_servers == "b1.example:9096,b2.example:9096"
    assert kafka.kafka_security_protocol == "SSL"  # implied by kafka+ssl://
    key_path = Path(kafka.kafka_ssl_key_file or "")
    assert key_path.read_text().strip() == key.strip()
    assert key_path.stat().st_mode & 0o077 == 0  # only this process's user can read the key
    assert key.strip() not in repr(kafka)
    confluent = confluent_config(kafka)
    assert confluent["ssl.certificate.location"] == kafka.kafka_ssl_cert_file
    assert confluent["ssl.endpoint.identification.algorithm"] == "none"
    context = aiokafka_config(kafka)["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.check_hostname is False


def test_host_port_and_kafka_urls_mix_and_ours_win_over_platform_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_URL", "kafka+ssl://platform:9096")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka://a:9092, b:9092/")
    kafka = KafkaSettings()
    assert kafka.kafka_bootstrap_servers == "a:9092,b:9092"
    assert kafka.kafka_security_protocol == "PLAINTEXT"
    assert kafka.ssl_context() is None


@pytest.mark.parametrize(
    ("servers", "message"),
    [
        ("http://a:9092", "expected host:port or kafka[+ssl]://host:port"),
        ("kafka://a:9092/path", "expected host:port or kafka[+ssl]://host:port"),
    ],
)
def test_other_urls_are_refused(servers: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        KafkaSettings(kafka_bootstrap_servers=servers)


def test_an_ssl_url_with_a_plaintext_protocol_is_refused() -> None:
    with pytest.raises(ValidationError, match="kafka\\+ssl:// brokers"):
        KafkaSettings.model_validate(
            {"kafka_url": "kafka+ssl://a:1", "kafka_security_protocol": "PLAINTEXT"}
        )


def test_pem_text_on_one_line_with_escaped_newlines_is_a_valid_file(tmp_path: Path) -> None:
    ca = issue("one-line-ca")
    one_line = ca.cert_pem.strip().replace("\n", "\\n")  # as some secret stores hand it over
    kafka = KafkaSettings(kafka_security_protocol="SSL", kafka_ssl_ca_file=one_line)
    assert Path(kafka.kafka_ssl_ca_file or "").read_text() == ca.cert_pem
    assert isinstance(kafka.ssl_context(), ssl.SSLContext)  # loads as a CA bundle
