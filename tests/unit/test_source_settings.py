"""`importSince` and `reconcileIntervalSeconds`: read, checked, and what a new value starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations.connect import control_import
from integrations.validation import ConnectError, resolve_settings, resolve_source_settings
from schemas.integration import IntegrationRecord

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def saved(**fields: object) -> IntegrationRecord:
    base: dict[str, object] = {
        "tenant_id": "T1", "status": "connected", "subdomain": "acme",
        "default_admin_email": "a@b.example", "api_key_encrypted": "x", "key_fingerprint": "f",
        "connected_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    return IntegrationRecord.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (30, NOW - timedelta(days=30)),
        ("7", NOW - timedelta(days=7)),
        ("2026-01-01", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T05:00:00+02:00", datetime(2026, 1, 1, 3, tzinfo=UTC)),
    ],
)
def test_import_since_reads_days_dates_and_starts_a_generation(
    raw: str | int, expected: datetime
) -> None:
    settings = resolve_source_settings({"importSince": raw}, None, has_unthread_key=True, now=NOW)
    assert (settings.import_since, settings.import_generation) == (expected, 1)


@pytest.mark.parametrize("raw", ["0", 3651, "yesterday", "2027-01-01", "-3"])
def test_bad_import_since_is_refused(raw: str | int) -> None:
    with pytest.raises(ConnectError) as caught:
        resolve_source_settings({"importSince": raw}, None, has_unthread_key=True, now=NOW)
    assert caught.value.code == "invalid_import_since"


def test_same_value_keeps_the_generation_and_a_new_one_restarts() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    previous = saved(import_since=since, import_generation=3, import_paused=True)
    same = resolve_source_settings(
        {"importSince": "2026-01-01"}, previous, has_unthread_key=True, now=NOW
    )
    assert (same.import_generation, same.import_paused) == (3, True)
    new = resolve_source_settings({"importSince": "5"}, previous, has_unthread_key=True, now=NOW)
    assert (new.import_generation, new.import_paused) == (4, False)
    kept = resolve_source_settings({}, previous, has_unthread_key=True, now=NOW)
    assert kept.import_since == since
    off = resolve_source_settings({"importSince": None}, previous, has_unthread_key=True, now=NOW)
    assert off.import_since is None


def test_both_need_an_unthread_key_and_the_interval_is_bounded() -> None:
    with pytest.raises(ConnectError) as caught:
        resolve_source_settings({"importSince": 3}, None, has_unthread_key=False, now=NOW)
    assert caught.value.code == "invalid_import_since"
    for raw in (5, "abc", 86_401):
        with pytest.raises(ConnectError) as bad:
            resolve_source_settings(
                {"reconcileIntervalSeconds": raw}, None, has_unthread_key=True, now=NOW
            )
        assert bad.value.code == "invalid_reconcile_interval"
    ok = resolve_source_settings(
        {"reconcileIntervalSeconds": 60}, None, has_unthread_key=True, now=NOW
    )
    assert ok.reconcile_interval_seconds == 60


async def test_pause_resume_restart_change_the_record() -> None:
    written: list[IntegrationRecord] = []

    async def publish(record: IntegrationRecord) -> None:
        written.append(record)

    record = saved(import_since=NOW - timedelta(days=3), import_generation=1)
    paused = await control_import(record, "pause", publish=publish, now=NOW)
    resumed = await control_import(paused, "resume", publish=publish, now=NOW)
    restarted = await control_import(paused, "restart", publish=publish, now=NOW)
    assert [(r.import_paused, r.import_generation) for r in written] == [
        (True, 1), (False, 1), (False, 2)
    ]  # fmt: skip
    assert resumed.import_since == restarted.import_since == record.import_since
    with pytest.raises(ValueError, match="no importSince"):
        await control_import(saved(), "restart", publish=publish)


def test_the_cli_turns_edits_and_deletions_on_and_off_by_name() -> None:
    on = resolve_settings({"syncMessageEdits": "on", "syncMessageDeletions": " TRUE "}, None)
    assert (on.sync_message_edits, on.sync_message_deletions) == (True, True)
    off = resolve_settings({"syncMessageEdits": "off"}, saved(sync_message_edits=True))
    assert off.sync_message_edits is False
    with pytest.raises(ConnectError) as refused:
        resolve_settings({"syncMessageDeletions": "sometimes"}, None)
    assert refused.value.code == "invalid_sync_message_deletions"
