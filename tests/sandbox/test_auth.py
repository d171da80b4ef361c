"""Auth exactly as Vitally documents it: `Authorization: Basic base64("<token>:")`."""

from __future__ import annotations

import base64

import pytest
from vitally_sandbox.auth import basic_header, token_from_header

from tests.sandbox.conftest import ACME_TOKEN, GLOBEX_TOKEN, USERS_ONLY_TOKEN, Harness, auth


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_missing_header_is_401_with_vitallys_message(harness: Harness) -> None:
    response = await harness.control.get("/resources/users/search?email=bob@customer.example")

    assert response.status_code == 401
    assert response.json() == {"error": "Authorization header not present."}
    assert response.headers["RateLimit-Limit"] == "1000, 1000;window=60"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(f"Basic {b64('wrong-token:')}", id="unknown-token"),
        pytest.param(f"Basic {ACME_TOKEN}", id="raw-token-after-basic"),
        pytest.param(ACME_TOKEN, id="raw-token-alone"),
        pytest.param(b64(f"{ACME_TOKEN}:"), id="encoded-without-scheme"),
        pytest.param(f"Basic {b64(ACME_TOKEN)}", id="no-trailing-colon"),
        pytest.param(f"Basic {b64(ACME_TOKEN + ':secret')}", id="non-empty-password"),
        pytest.param(f"Bearer {ACME_TOKEN}", id="bearer-scheme"),
        pytest.param("Basic ", id="empty-credentials"),
    ],
)
async def test_anything_but_the_documented_form_is_401(harness: Harness, header: str) -> None:
    response = await harness.control.get(
        "/resources/users/search?email=bob@customer.example", headers={"Authorization": header}
    )

    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


async def test_documented_header_opens_the_tokens_org(harness: Harness) -> None:
    response = await harness.control.get(
        "/resources/users/search?email=bob@customer.example", headers=auth(ACME_TOKEN)
    )

    assert response.status_code == 200
    assert [u["id"] for u in response.json()["results"]] == ["u-bob"]


async def test_scheme_name_is_case_insensitive(harness: Harness) -> None:
    header = "basic " + b64(f"{ACME_TOKEN}:")
    response = await harness.control.get(
        "/resources/users/u-bob", headers={"Authorization": header}
    )

    assert response.status_code == 200


async def test_token_sees_only_its_own_org(harness: Harness) -> None:
    own = await harness.control.get("/resources/users/g-ann", headers=auth(GLOBEX_TOKEN))
    other = await harness.control.get("/resources/users/u-jane", headers=auth(GLOBEX_TOKEN))

    assert own.status_code == 200
    assert other.status_code == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/resources/users/search?email=bob@customer.example", 200),
        ("/resources/admins/search?email=sam@vendor.example", 403),
        ("/resources/conversations", 403),
        ("/resources/messages/m-1", 403),
    ],
)
async def test_scoped_token_is_forbidden_outside_its_scopes(
    harness: Harness, path: str, status: int
) -> None:
    response = await harness.control.get(path, headers=auth(USERS_ONLY_TOKEN))

    assert response.status_code == status
    if status == 403:
        assert response.json() == {"error": "Forbidden"}


async def test_scoped_token_cannot_write_conversations(harness: Harness) -> None:
    response = await harness.control.post(
        "/resources/conversations", json={}, headers=auth(USERS_ONLY_TOKEN)
    )

    assert response.status_code == 403
    assert (await harness.stats())["conversations"] == 0


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (basic_header("tok"), "tok"),
        ("  Basic " + b64("tok:") + " ", "tok"),
        ("Basic " + b64(":"), None),
        ("Basic !!notbase64!!", None),
        ("Basic " + base64.b64encode(b"\xff\xfe:").decode(), None),
    ],
)
def test_token_from_header(header: str, token: str | None) -> None:
    assert token_from_header(header) == token
