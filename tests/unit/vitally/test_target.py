import base64

import pytest

from vitally import VitallyTarget, base_url_for, basic_auth_value

ENCODED = base64.b64encode(b"secret_key:").decode()  # "c2VjcmV0X2tleTo=", as in Vitally's docs


@pytest.mark.parametrize(
    ("pasted", "header"),
    [
        ("secret_key", f"Basic {ENCODED}"),  # the raw secret token
        (f"Basic {ENCODED}", f"Basic {ENCODED}"),  # the full header value Vitally shows
        (ENCODED, f"Basic {ENCODED}"),  # the value without "Basic", as Unthread asks for
        (f"basic {ENCODED}", f"Basic {ENCODED}"),
        (f"BASIC   {ENCODED}", f"Basic {ENCODED}"),
        (f"  \n{ENCODED}\t ", f"Basic {ENCODED}"),
        ("  secret_key\n", f"Basic {ENCODED}"),
        ("secret_key:", f"Basic {ENCODED}"),  # a user name cannot hold ":", so it is the separator
    ],
)
def test_basic_auth_value_accepts_every_form_a_user_may_paste(pasted: str, header: str) -> None:
    assert basic_auth_value(pasted) == header


def test_base64_looking_token_that_is_not_encoded_credentials_gets_encoded() -> None:
    token = "abcd1234"  # valid base64, but it decodes to bytes that are not "<token>:"
    base64.b64decode(token, validate=True)  # precondition: it really is valid base64
    expected = "Basic " + base64.b64encode(b"abcd1234:").decode()
    assert basic_auth_value(token) == expected


def test_base64_of_text_without_trailing_colon_is_treated_as_a_raw_token() -> None:
    token = base64.b64encode(b"no-colon-here").decode()
    assert basic_auth_value(token) == "Basic " + base64.b64encode(f"{token}:".encode()).decode()


@pytest.mark.parametrize("pasted", ["", "   ", "Basic ", "basic   "])
def test_empty_key_is_refused(pasted: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        basic_auth_value(pasted)


def test_us_base_url_uses_the_subdomain() -> None:
    assert base_url_for("acme", "us", None) == "https://acme.rest.vitally.io"
    assert base_url_for(" Acme ", "us", None) == "https://acme.rest.vitally.io"


def test_eu_base_url_is_one_shared_host_without_subdomain() -> None:
    assert base_url_for("acme", "eu", None) == "https://rest.vitally-eu.io"


@pytest.mark.parametrize("region", ["us", "eu"])
def test_override_wins_for_every_region(region: str) -> None:
    assert base_url_for("acme", region, "http://127.0.0.1:8080/") == "http://127.0.0.1:8080"  # type: ignore[arg-type]


@pytest.mark.parametrize("subdomain", ["", "acme.evil.example", "acme/x", "me@host", "-acme"])
def test_us_subdomain_must_be_one_dns_label(subdomain: str) -> None:
    with pytest.raises(ValueError, match="subdomain"):
        base_url_for(subdomain, "us", None)


def test_target_repr_and_str_never_show_the_credential() -> None:
    target = VitallyTarget.for_tenant("T01ACME", "acme", "us", "secret_key")
    assert target.authorization == f"Basic {ENCODED}"
    assert target.base_url == "https://acme.rest.vitally.io"
    for text in (repr(target), str(target)):
        assert "T01ACME" in text
        assert ENCODED not in text
        assert "secret_key" not in text
