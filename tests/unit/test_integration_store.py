"""IntegrationStore: which record wins when workers' writes cross on the integrations topic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet

from integrations.kafka_config import KafkaSettings
from integrations.secrets import SecretBox, fingerprint
from integrations.store import IntegrationStore
from schemas.integration import IntegrationRecord
from vitally.target import basic_auth_value

BOX = SecretBox(Fernet.generate_key().decode())
OLD, NEW, NEWER = (basic_auth_value(t) for t in ("old-secret", "new-secret", "newer-secret"))
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _store() -> IntegrationStore:
    return IntegrationStore(
        kafka=KafkaSettings(kafka_bootstrap_servers="unused:9092"), topic="integrations", box=BOX,
        base_url_override="http://vitally.test",
    )  # fmt: skip


def _record(key: str, status: str = "connected", at: datetime = T0) -> IntegrationRecord:
    return IntegrationRecord.model_validate({
        "tenantId": "T01ACME", "status": status, "subdomain": "acme",
        "defaultAdminEmail": "ops@vendor.example", "apiKeyEncrypted": BOX.encrypt(key),
        "keyFingerprint": fingerprint(key), "connectedAt": T0, "updatedAt": at,
    })  # fmt: skip


def test_a_late_flag_on_a_replaced_key_does_not_undo_the_reconnect() -> None:
    store = _store()
    store.put(_record(OLD, at=T0))
    store.put(_record(NEW, at=T0 + timedelta(seconds=1)))
    # A lagging worker got a 401 with the old key and flagged it, after the reconnect.
    late = _record(OLD, status="needs_attention", at=T0 + timedelta(seconds=2))
    store.apply("T01ACME", late.to_json())
    context = store.tenant("T01ACME")
    assert context is not None and context.target.authorization == NEW


def test_a_flag_on_the_current_key_is_taken() -> None:
    store = _store()
    store.put(_record(NEW, at=T0))
    flagged = _record(NEW, status="needs_attention", at=T0 + timedelta(seconds=1))
    store.apply("T01ACME", flagged.to_json())
    assert store.needs_attention("T01ACME")
    store.put(_record(NEWER, at=T0 + timedelta(seconds=2)))  # the fix: a reconnect
    assert not store.needs_attention("T01ACME")
