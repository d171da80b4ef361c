"""Faust reads none of its own environment variables: the worker's app is configured by our
settings alone (streams/seam/sealed.py), however hostile the environment."""

from __future__ import annotations

import warnings

import faust
import pytest
from cryptography.fernet import Fernet
from faust.types.settings import Settings as FaustSettings

from streams.app import create_app
from streams.settings import Settings
from streams.topics import TopicLayout

# Values the issue names, each of which Faust would otherwise take silently or crash on.
HOSTILE = {
    "TOPIC_REPLICATION_FACTOR": "-1",
    "CONSUMER_AUTO_OFFSET_RESET": "latest",
    "PRODUCER_ACKS": "1",
    "APP_DEBUG": "true",
    "BROKER_URL": "kafka://elsewhere.invalid:9092",
    "BROKER_COMMIT_INTERVAL": "3600",
    "WEB_BIND": "127.0.0.1",
    # A prefix would make Faust read EVIL_* instead.
    "APP_ENV_PREFIX": "EVIL",
    "EVIL_PRODUCER_ACKS": "0",
}


def faust_variables() -> dict[str, str]:
    """Every variable Faust's settings would read, by the setting it sets."""
    return {
        name: param.env_name
        for name, param in FaustSettings.SETTINGS.items()
        if param.env_name is not None
    }


def worker_app(**values: str) -> faust.App:
    settings = Settings.model_validate(
        {
            "admin_api_token": "t" * 16,
            "secrets_key": Fernet.generate_key().decode(),
            "kafka_bootstrap_servers": "127.0.0.1:19092",
            **values,
        }
    )
    return create_app(settings, TopicLayout(input_partitions=4, replication_factor=3))


def snapshot(app: faust.App) -> dict[str, str]:
    with warnings.catch_warnings():  # reading a deprecated setting warns
        warnings.simplefilter("ignore")
        return {name: repr(getattr(app.conf, name)) for name in faust_variables()}


def test_faust_has_many_variables_of_its_own() -> None:
    # The reason for the seal: without it each of these would override create_app's options.
    assert len(faust_variables()) >= 70
    assert set(HOSTILE) - {"EVIL_PRODUCER_ACKS"} <= set(faust_variables().values())


def test_the_named_hostile_values_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in HOSTILE.items():
        monkeypatch.setenv(name, value)
    conf = worker_app().conf
    assert conf.topic_replication_factor == 3
    assert conf.consumer_auto_offset_reset == "earliest"
    assert conf.producer_acks == -1
    assert conf.debug is False
    assert [str(url) for url in conf.broker] == ["kafka://127.0.0.1:19092"]
    assert conf.broker_commit_interval == 1.0
    assert conf.web_bind == "0.0.0.0"  # noqa: S104 - our WEB_HOST's default
    # Ours (TABLE_STANDBY_REPLICAS is our setting, default 0), not Faust's own default of 1.
    assert conf.table_standby_replicas == 0


def test_every_faust_variable_set_to_garbage_changes_no_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clean = snapshot(worker_app())
    ours = {name.upper() for name in Settings.model_fields}
    for variable in set(faust_variables().values()) - ours:
        # Invalid for every type Faust parses: read at all, it would fail or differ.
        monkeypatch.setenv(variable, "-1")
    assert snapshot(worker_app()) == clean


def test_faust_binds_where_web_host_says() -> None:
    # Faust's server binds to its web_bind, not to web_host: ours sets both.
    conf = worker_app(web_host="127.0.0.1", web_port="6099").conf
    assert (conf.web_bind, conf.web_port) == ("127.0.0.1", 6099)
