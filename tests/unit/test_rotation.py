"""rotate-secrets with other writers on the integrations topic: it never puts an older record
over a newer one, neither for the workers' rule nor for what compaction keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from integrations.rotation import ROUNDS, RotationUnsettled, rotate_secrets
from integrations.secrets import SecretBox
from integrations.topic import Entry, latest
from schemas.integration import IntegrationRecord

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _record(
    tenant: str, box: SecretBox, *, at: datetime, key: str = "Basic k"
) -> IntegrationRecord:
    return IntegrationRecord(
        tenant_id=tenant, status="connected", subdomain=tenant.lower(),
        default_admin_email="ops@vendor.example", api_key_encrypted=box.encrypt(key),
        key_fingerprint="sha256:0", connected_at=T0, updated_at=at,
    )  # fmt: skip


class Topic:
    """The integrations topic as a list; ``meanwhile`` lands just before our next write, as a
    connect or a worker's write racing the rotation would."""

    def __init__(self, *records: IntegrationRecord) -> None:
        self.log = [Entry(r.tenant_id, r) for r in records]
        self.meanwhile: list[IntegrationRecord] = []

    def read(self) -> list[Entry]:
        return list(self.log)

    def publish(self, record: IntegrationRecord) -> None:
        self.log.extend(Entry(r.tenant_id, r) for r in self.meanwhile)
        self.meanwhile = []
        self.log.append(Entry(record.tenant_id, record))

    def last(self, tenant: str) -> IntegrationRecord | None:
        return [e.record for e in self.log if e.tenant_id == tenant][-1]


def test_each_key_is_re_encrypted_once_with_the_newest_key_a_microsecond_newer() -> None:
    old = SecretBox(OLD)
    topic = Topic(_record("T1", old, at=T0), _record("T2", old, at=T0))
    done = rotate_secrets(SecretBox(f"{NEW},{OLD}"), topic.read, topic.publish)
    assert done.rotated == {"T1", "T2"} and done.undecryptable == set()
    assert len(topic.log) == 4
    for tenant in ("T1", "T2"):
        last = topic.last(tenant)
        assert last is not None and last.updated_at == T0 + timedelta(microseconds=1)
        assert SecretBox(NEW).decrypt(last.api_key_encrypted) == "Basic k"
    again = rotate_secrets(SecretBox(f"{NEW},{OLD}"), topic.read, topic.publish)
    assert again.rotated == set() and len(topic.log) == 4  # nothing left to do


def test_a_record_written_during_the_rotation_stays_current_and_ends_up_last() -> None:
    old = SecretBox(OLD)
    topic = Topic(_record("T1", old, at=T0))
    # A reconnect with another key lands between the rotation's read and its write.
    reconnect = _record("T1", old, at=T0 + timedelta(seconds=5), key="Basic new")
    topic.meanwhile = [reconnect]
    rotate_secrets(SecretBox(f"{NEW},{OLD}"), topic.read, topic.publish)
    current = latest(topic.read())["T1"]
    assert current.last  # what compaction keeps is what the workers hold
    assert current.record.updated_at == reconnect.updated_at + timedelta(microseconds=1)
    assert current.record.key_fingerprint == reconnect.key_fingerprint
    assert SecretBox(NEW).decrypt(current.record.api_key_encrypted) == "Basic new"


def test_an_undecryptable_key_is_reported_and_the_others_still_rotate() -> None:
    stale = _record("T-STALE", SecretBox(Fernet.generate_key().decode()), at=T0)
    topic = Topic(stale, _record("T1", SecretBox(OLD), at=T0))
    done = rotate_secrets(SecretBox(f"{NEW},{OLD}"), topic.read, topic.publish)
    assert done.rotated == {"T1"} and done.undecryptable == {"T-STALE"}
    assert topic.last("T-STALE") == stale  # never re-written


def test_writers_that_never_stop_end_the_rotation_with_an_error() -> None:
    old = SecretBox(OLD)
    topic = Topic(_record("T1", old, at=T0))
    written = [0]

    def publish(record: IntegrationRecord) -> None:
        written[0] += 1
        topic.meanwhile = [_record("T1", old, at=T0 + timedelta(seconds=written[0]))]
        topic.publish(record)

    with pytest.raises(RotationUnsettled):
        rotate_secrets(SecretBox(f"{NEW},{OLD}"), topic.read, publish)
    assert written[0] == ROUNDS


def test_the_latest_updated_at_wins_and_at_the_same_updated_at_the_later_record() -> None:
    box = SecretBox(OLD)
    first, newer = _record("T1", box, at=T0), _record("T1", box, at=T0 + timedelta(seconds=1))
    same_time = _record("T1", box, at=T0 + timedelta(seconds=1), key="Basic other")
    assert newer.supersedes(first) and not first.supersedes(newer)
    assert same_time.supersedes(newer)
    held = latest([Entry("T1", newer), Entry("T1", first)])["T1"]
    assert held.record == newer and not held.last
    assert latest([Entry("T1", newer), Entry("T1", None)]) == {}  # a tombstone forgets


def test_is_newest_tells_which_key_encrypted_a_token() -> None:
    both = SecretBox(f"{NEW},{OLD}")
    assert not both.is_newest(SecretBox(OLD).encrypt("k"))
    assert both.is_newest(both.encrypt("k"))
