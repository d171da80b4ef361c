"""``vitally-sync status``: the same answer as the tenant API's GET, from the integrations and
audit summary topics read whole (the readers replaced here; tests/e2e/test_key_rotation.py
runs it against a broker)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from schemas.audit_reasons import GUIDE
from schemas.integration import IntegrationRecord
from streams import cli
from streams.settings import Settings
from tests.unit.ops_records import T0, audit_json
from tests.unit.summary_pipe import SummaryPipe

TENANT = "T01ACME"
AT = datetime(2025, 11, 25, 9, tzinfo=UTC)
RECORD = IntegrationRecord(
    tenant_id=TENANT, status="connected", subdomain="acme", default_admin_email="ops@v.example",
    api_key_encrypted="gAAAA-secret-token", key_fingerprint="sha256:abc", connected_at=AT,
    updated_at=AT,
)  # fmt: skip
AUDIT = [
    audit_json(outcome="parked", reason="vitally_unavailable", offset=1),
    audit_json(outcome="parked", reason="teammate_not_in_vitally", detail="ops@v.example",
               offset=1, at=T0 + 1000),
    audit_json(conversation="c-2", outcome="failed", reason="internal_error", detail="KeyError",
               offset=2, at=T0 + 2000),
    audit_json(tenant="T02OTHER", outcome="failed", reason="internal_error", offset=3),
]  # fmt: skip


@pytest.fixture
async def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    topics = {"vitally-sync.integrations": {TENANT: RECORD}}
    pipe = SummaryPipe()  # what the workers that wrote AUDIT published
    await pipe.add(*AUDIT)

    def read_topic(bootstrap: str, topic: str) -> Iterator[tuple[bytes | None, bytes | None]]:
        assert topic in ("vitally-sync.audit-summary", "vitally-sync.source-walks")
        if topic == "vitally-sync.audit-summary":
            yield from pipe.published

    monkeypatch.setattr(cli, "read_records", lambda bootstrap, topic: topics[topic])
    monkeypatch.setattr(cli, "read_topic", read_topic)
    return Settings(admin_api_token="t" * 16, secrets_key=Fernet.generate_key().decode())


def test_status_shows_recent_failures_and_parked_events(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli._status(settings, argparse.Namespace(tenant=TENANT)) == 0
    shown = json.loads(capsys.readouterr().out)
    assert "gAAAA" not in json.dumps(shown)
    assert shown["syncCounts"]["byOutcome"] == {"parked": 2, "failed": 1}
    assert shown["syncCounts"]["complete"] is True
    [failure] = shown["recentFailures"]
    assert (failure["conversationId"], failure["reason"], failure["detail"]) == (
        "c-2", "internal_error", "KeyError",
    )  # fmt: skip
    assert failure["fix"] == GUIDE["internal_error"].fix
    assert shown["parked"]["count"] == 1
    [waiting] = shown["parked"]["events"]
    assert (waiting["reason"], waiting["detail"], waiting["source"]) == (
        "teammate_not_in_vitally", "ops@v.example", {"topic": "in", "partition": 0, "offset": 1},
    )  # fmt: skip


@pytest.mark.parametrize("command", [cli._status, cli._recheck, cli._disconnect])
def test_status_recheck_and_disconnect_of_an_unknown_tenant(
    command: Callable[[Settings, argparse.Namespace], int],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert command(settings, argparse.Namespace(tenant="T404")) == 2
    assert json.loads(capsys.readouterr().err)["error"] == "not_connected"
