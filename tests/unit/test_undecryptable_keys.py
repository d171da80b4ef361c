"""A tenant whose stored key this worker cannot decrypt is never silent: it needs attention
(its events park, not skip), and a SECRETS_KEY that decrypts no stored key at all is the
worker's fault, which readiness reports."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from integrations.kafka_config import KafkaSettings
from integrations.secrets import SecretBox, fingerprint
from integrations.store import IntegrationStore
from schemas.integration import IntegrationRecord
from tests.unit.sync_world import TENANT, created
from tests.unit.test_handler import Harness, outcome
from vitally.target import basic_auth_value

RIGHT, WRONG = SecretBox(Fernet.generate_key().decode()), SecretBox(Fernet.generate_key().decode())
KEY = basic_auth_value("acme-secret")
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _store(box: SecretBox = RIGHT) -> IntegrationStore:
    return IntegrationStore(
        kafka=KafkaSettings(kafka_bootstrap_servers="unused:9092"), topic="integrations",
        box=box, base_url_override="http://vitally.test",
    )  # fmt: skip


def _record(tenant: str, box: SecretBox, status: str = "connected") -> bytes:
    return IntegrationRecord.model_validate({
        "tenantId": tenant, "status": status, "subdomain": "acme",
        "defaultAdminEmail": "ops@vendor.example", "apiKeyEncrypted": box.encrypt(KEY),
        "keyFingerprint": fingerprint(KEY), "connectedAt": T0, "updatedAt": T0,
    }).to_json()  # fmt: skip


def test_a_key_this_worker_cannot_decrypt_needs_attention_not_disconnected() -> None:
    store = _store()
    store.apply("T-ok", _record("T-ok", RIGHT))
    store.apply("T-stale", _record("T-stale", WRONG))
    assert store.tenant("T-stale") is None
    assert store.needs_attention("T-stale") and not store.needs_attention("T-ok")
    assert store.needing_attention() == {"T-stale": "secret_undecryptable"}
    assert store.undecryptable() == ["T-stale"]
    assert not store.secrets_key_decrypts_none()  # one tenant, not the worker's key


def test_the_tenant_is_logged_by_id(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="integrations.store"):
        _store().apply("T-stale", _record("T-stale", WRONG))
    assert any("T-stale" in r.getMessage() for r in caplog.records)


def test_a_reconnect_with_a_decryptable_key_clears_it() -> None:
    woken: list[str] = []
    store = IntegrationStore(
        kafka=KafkaSettings(), topic="integrations", box=RIGHT, base_url_override=None,
        on_reconnect=woken.append,
    )  # fmt: skip
    store.apply(TENANT, _record(TENANT, WRONG))
    store.apply(TENANT, _record(TENANT, RIGHT))
    assert not store.needs_attention(TENANT) and store.tenant(TENANT) is not None
    assert woken == [TENANT]  # its parked events are woken


def test_a_disconnected_tenant_is_not_needing_attention() -> None:
    store = _store()
    store.apply(TENANT, _record(TENANT, WRONG, status="disconnected"))
    assert not store.needs_attention(TENANT)


def test_a_secrets_key_that_decrypts_nothing_is_the_workers_problem() -> None:
    store = _store(WRONG)
    assert not store.secrets_key_decrypts_none()  # nothing stored: nothing to judge
    store.apply("T-a", _record("T-a", RIGHT))
    store.apply("T-b", _record("T-b", RIGHT))
    assert store.secrets_key_decrypts_none()
    assert sorted(store.needing_attention()) == ["T-a", "T-b"]


async def test_its_events_park_instead_of_being_skipped() -> None:
    h = Harness()
    context = h.tenants.contexts.pop(TENANT)  # what the store answers for such a tenant
    h.tenants.flagged[TENANT] = "secret_undecryptable"
    audit = await h.feed(created())
    assert outcome(audit) == ("parked", "integration_needs_attention")
    assert h.vitally.calls == []
    h.tenants.contexts[TENANT] = context  # reconnected (or the right SECRETS_KEY)
    h.tenants.reconnect(TENANT)
    [resolved] = await h.resume()
    assert outcome(resolved) == ("synced", None)
