"""The worker's identity (static membership) and the group's timeouts, from the environment."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from streams.identity import default_worker_id
from streams.settings import Settings


def settings(**values: Any) -> Settings:
    return Settings.model_validate({"admin_api_token": "t" * 16, "secrets_key": "k", **values})


def test_the_worker_id_is_the_platforms_name_for_the_process_slot() -> None:
    assert default_worker_id({"DYNO": "worker.1", "HOSTNAME": "abc123"}) == "worker.1"
    assert default_worker_id({"POD_NAME": "vitally-sync-0", "HOSTNAME": "x"}) == "vitally-sync-0"
    assert default_worker_id({"HOSTNAME": "vitally-sync-1"}) == "vitally-sync-1"
    assert default_worker_id({"DYNO": " "}) != ""  # blank: the host's name


def test_worker_id_from_the_environment_and_empty_turns_static_membership_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKER_ID", "worker.7")
    assert settings().worker_id == "worker.7"
    monkeypatch.setenv("WORKER_ID", "")
    assert settings().worker_id == ""


def test_default_timeouts_replace_a_dead_worker_within_15_seconds() -> None:
    default = settings()
    bound = default.kafka_session_timeout_seconds + default.kafka_heartbeat_interval_seconds
    assert bound <= 15
    assert default.http_timeout_seconds < default.kafka_rebalance_timeout_seconds


def test_a_vitally_call_may_not_outlast_the_rebalance_timeout() -> None:
    with pytest.raises(ValidationError, match="HTTP_TIMEOUT_SECONDS must stay below"):
        settings(http_timeout_seconds=20, kafka_rebalance_timeout_seconds=20)


def test_heartbeats_fit_three_times_in_a_session() -> None:
    with pytest.raises(ValidationError, match="at most a third"):
        settings(kafka_session_timeout_seconds=10, kafka_heartbeat_interval_seconds=4)
