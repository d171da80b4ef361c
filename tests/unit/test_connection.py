"""Connecting a tenant: input normalised as users paste it, then proven against Vitally."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from integrations.validation import (
    ConnectError,
    SyncSettings,
    ValidatedIntegration,
    normalise_backfill_since,
    normalise_region,
    normalise_subdomain,
    resolve_settings,
    validate_connection,
)
from tests.fakes import InMemoryVitally
from vitally.errors import (
    VitallyAuthError,
    VitallyError,
    VitallyNotFound,
    VitallyRateLimited,
    VitallyRequestError,
    VitallyServerError,
)

TENANT = "T01ACME"
OPS = "ops@vendor.example"
TOKEN = "sk_live_abc123"
ENCODED = base64.b64encode(f"{TOKEN}:".encode()).decode()


def probe_with_admin(license_status: str = "active") -> InMemoryVitally:
    vitally = InMemoryVitally()
    vitally.add_admin(TENANT, OPS, license_status)
    return vitally


async def connect(
    probe: InMemoryVitally,
    *,
    subdomain: str = "acme",
    api_key: str = ENCODED,
    email: str = OPS,
    region: str | None = None,
    override: str | None = None,
) -> ValidatedIntegration:
    return await validate_connection(
        probe,
        tenant_id=TENANT,
        subdomain=subdomain,
        api_key=api_key,
        default_admin_email=email,
        region=region,
        base_url_override=override,
    )


async def refused(probe: InMemoryVitally, **kwargs: Any) -> ConnectError:
    with pytest.raises(ConnectError) as caught:
        await connect(probe, **kwargs)
    assert caught.value.message  # always says what to fix
    return caught.value


@pytest.mark.parametrize(
    "raw",
    [
        "acme",
        "ACME",
        " acme ",
        "acme.rest.vitally.io",
        "ACME.REST.VITALLY.IO",
        "https://acme.rest.vitally.io/",
        "https://acme.rest.vitally.io",
        "http://acme.rest.vitally.io//",
        "acme.vitally.io",
        "https://acme.vitally.io/",
        "acme.rest.vitally-eu.io",
    ],
)
def test_subdomain_normalisation(raw: str) -> None:
    assert normalise_subdomain(raw) == "acme"


@pytest.mark.parametrize("raw", ["a", "my-company", "a1", "x" * 63, "0acme"])
def test_valid_labels(raw: str) -> None:
    assert normalise_subdomain(raw) == raw


HOSTILE = [
    "evil.com",
    "acme.evil.com",
    "acme.rest.vitally.io.evil.com",
    "https://evil.com/acme.rest.vitally.io",
    "a@b",
    "https://user@acme.rest.vitally.io",
    "acme#x",
    "acme/x",
    "acme?x=1",
    "acme:443",
    "acme.rest.vitally.io:443",
    "127.0.0.1",
    "[::1]",
    "%61cme",
    "acme%2eevil.com",
    "\u0430cme",  # Cyrillic a
    "\uff41cme",  # fullwidth a
    "acme\u200b",  # zero-width space
    "",
    "   ",
    "x" * 64,
    "-acme",
    "acme-",
    "ac me",
    "acme\\evil",
    ".rest.vitally.io",
    "acme\nevil.com",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_subdomains_are_refused(raw: str) -> None:
    with pytest.raises(ConnectError) as caught:
        normalise_subdomain(raw)
    assert caught.value.code == "invalid_subdomain"


@pytest.mark.parametrize("raw", HOSTILE)
async def test_a_refused_subdomain_never_reaches_vitally(raw: str) -> None:
    probe = probe_with_admin()
    assert (await refused(probe, subdomain=raw)).code == "invalid_subdomain"
    assert probe.calls == []  # the key was sent nowhere


@pytest.mark.parametrize(("raw", "region"), [(None, "us"), ("us", "us"), (" EU ", "eu")])
def test_region(raw: str | None, region: str) -> None:
    assert normalise_region(raw) == region


async def test_invalid_region() -> None:
    probe = probe_with_admin()
    assert (await refused(probe, region="apac")).code == "invalid_region"
    assert probe.calls == []


@pytest.mark.parametrize("key", [ENCODED, f"Basic {ENCODED}", f"  basic   {ENCODED} ", TOKEN])
async def test_every_form_of_the_key_gives_the_same_header(key: str) -> None:
    probe = probe_with_admin()
    valid = await connect(probe, api_key=key)
    assert valid.authorization == f"Basic {ENCODED}"
    assert {t.authorization for t in probe.targets()} == {f"Basic {ENCODED}"}


async def test_a_valid_connection() -> None:
    probe = InMemoryVitally()
    admin = probe.add_admin(TENANT, OPS)
    valid = await connect(
        probe, subdomain="https://ACME.rest.vitally.io/", email=" Ops@Vendor.example "
    )
    assert valid == ValidatedIntegration("acme", "us", f"Basic {ENCODED}", OPS, admin.id)
    targets = set(probe.targets())
    assert [(t.tenant_id, t.base_url) for t in targets] == [
        (TENANT, "https://acme.rest.vitally.io")
    ]
    assert probe.methods() == ["list_users", "find_admin_by_email", "list_conversations"]
    assert probe.calls[1][1][1] == OPS  # the admin is searched by the normalised email


async def test_eu_uses_the_shared_eu_host() -> None:
    probe = probe_with_admin()
    valid = await connect(probe, region="eu")
    assert valid.region == "eu"
    assert {t.base_url for t in probe.targets()} == {"https://rest.vitally-eu.io"}


async def test_the_base_url_override_wins() -> None:
    probe = probe_with_admin()
    await connect(probe, override="http://127.0.0.1:8080/")
    assert {t.base_url for t in probe.targets()} == {"http://127.0.0.1:8080"}


@pytest.mark.parametrize("key", ["", "   ", "Basic", "Basic   "])
async def test_empty_key(key: str) -> None:
    probe = probe_with_admin()
    assert (await refused(probe, api_key=key)).code == "invalid_api_key"
    assert probe.calls == []


@pytest.mark.parametrize("email", ["", "ops", "ops.vendor.example", "x" * 250 + "@v.example"])
async def test_invalid_default_admin_email(email: str) -> None:
    probe = probe_with_admin()
    assert (await refused(probe, email=email)).code == "invalid_default_admin_email"
    assert probe.calls == []


@pytest.mark.parametrize("method", ["list_users", "find_admin_by_email", "list_conversations"])
async def test_401_is_an_invalid_api_key(method: str) -> None:
    probe = probe_with_admin()
    probe.fail_next(method, VitallyAuthError(401, method="GET", path="/resources/x"))
    assert (await refused(probe)).code == "invalid_api_key"


@pytest.mark.parametrize(
    ("method", "resource"),
    [
        ("list_users", "users"),
        ("find_admin_by_email", "admins"),
        ("list_conversations", "conversations"),
    ],
)
async def test_403_names_the_resource(method: str, resource: str) -> None:
    probe = probe_with_admin()
    probe.fail_next(method, VitallyAuthError(403, method="GET", path="/resources/x"))
    error = await refused(probe)
    assert error.code == "insufficient_permissions"
    assert f"cannot read Vitally {resource}" in error.message


async def test_default_admin_not_found() -> None:
    probe = InMemoryVitally()
    error = await refused(probe)
    assert error.code == "default_admin_not_found"
    assert OPS in error.message


@pytest.mark.parametrize("status", ["deactivated", "auto-created", None])
async def test_default_admin_inactive(status: str | None) -> None:
    probe = InMemoryVitally()
    probe.add_admin(TENANT, OPS, status)
    assert (await refused(probe)).code == "default_admin_inactive"


@pytest.mark.parametrize(
    "error",
    [
        VitallyRequestError("ConnectError", method="GET", path="/x", reason="vitally_unreachable"),
        VitallyRequestError("ReadTimeout", method="GET", path="/x", reason="vitally_timeout"),
        VitallyServerError(503, method="GET", path="/x"),
        VitallyServerError(500, method="GET", path="/x"),
        VitallyRateLimited(429, method="GET", path="/x", retry_after=30),
    ],
)
@pytest.mark.parametrize("method", ["list_users", "find_admin_by_email", "list_conversations"])
async def test_no_answer_is_vitally_unreachable(method: str, error: VitallyError) -> None:
    probe = probe_with_admin()
    probe.fail_next(method, error)
    assert (await refused(probe)).code == "vitally_unreachable"


async def test_not_found_means_the_account_is_wrong() -> None:
    probe = probe_with_admin()
    probe.fail_next("list_users", VitallyNotFound(404, method="GET", path="/resources/users"))
    assert (await refused(probe)).code == "invalid_subdomain"


async def test_the_first_failure_stops_the_probe() -> None:
    probe = probe_with_admin()
    probe.fail_next("list_users", VitallyAuthError(401, method="GET", path="/resources/users"))
    await refused(probe)
    assert probe.methods() == ["list_users"]


@pytest.mark.parametrize(
    ("raw", "moment"),
    [
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
        (" 2026-01-01T09:30:00+02:00 ", datetime(2026, 1, 1, 7, 30, tzinfo=UTC)),
        ("2026-01-01T00:00:00", datetime(2026, 1, 1, tzinfo=UTC)),  # no zone: UTC
        ("2026-01-01", datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_backfill_since_is_read_as_utc(raw: str, moment: datetime) -> None:
    assert normalise_backfill_since(raw) == moment


def test_settings_left_out_keep_the_saved_ones_and_null_restores_the_default() -> None:
    assert resolve_settings({}, None) == SyncSettings(None, "keep")
    chosen = resolve_settings(
        {"backfillSince": "2026-01-01", "onConversationDeleted": " Delete "}, None
    )
    assert chosen == SyncSettings(datetime(2026, 1, 1, tzinfo=UTC), "delete")
    with pytest.raises(ConnectError) as caught:
        resolve_settings({"onConversationDeleted": "archive"}, None)
    assert caught.value.code == "invalid_on_conversation_deleted"
