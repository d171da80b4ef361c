"""SecretBox: API keys encrypted with SECRETS_KEY, newest key first, rotatable."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet

from integrations.secrets import SecretBox, SecretsKeyError, UndecryptableSecret, fingerprint

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
API_KEY = "Basic c2tfbGl2ZV9hYmMxMjM6"


def test_round_trip() -> None:
    box = SecretBox(NEW)
    token = box.encrypt(API_KEY)
    assert API_KEY not in token and "sk_live" not in token
    assert box.decrypt(token) == API_KEY
    assert box.encrypt(API_KEY) != token  # a fresh IV each time: equal keys look different


def test_unicode_round_trip() -> None:
    box = SecretBox(NEW)
    assert box.decrypt(box.encrypt("clé-ключ-🔑")) == "clé-ключ-🔑"


def test_rotation() -> None:
    token_old = SecretBox(OLD).encrypt(API_KEY)

    both = SecretBox(f"{NEW},{OLD}")  # a new key prepended
    assert both.decrypt(token_old) == API_KEY  # the old key still decrypts

    rotated = both.rotate(token_old)
    assert rotated != token_old
    only_new = SecretBox(NEW)  # the old key dropped
    assert only_new.decrypt(rotated) == API_KEY
    with pytest.raises(UndecryptableSecret):
        only_new.decrypt(token_old)  # what was not rotated is lost with the old key


def test_new_secrets_use_the_newest_key() -> None:
    token = SecretBox(f"{NEW},{OLD}").encrypt(API_KEY)
    assert SecretBox(NEW).decrypt(token) == API_KEY
    with pytest.raises(UndecryptableSecret):
        SecretBox(OLD).decrypt(token)


def test_rotating_twice_keeps_the_secret() -> None:
    box = SecretBox(f"{NEW},{OLD}")
    once = box.rotate(SecretBox(OLD).encrypt(API_KEY))
    assert box.decrypt(box.rotate(once)) == API_KEY


def test_spaces_and_empty_items_are_ignored() -> None:
    box = SecretBox(f"  {NEW} , ,{OLD},")
    assert SecretBox(NEW).decrypt(box.encrypt(API_KEY)) == API_KEY


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "  ",
        ",",
        "not-a-fernet-key",
        base64.urlsafe_b64encode(b"too short").decode(),
        base64.urlsafe_b64encode(b"x" * 33).decode(),
        f"{NEW},not-a-fernet-key",  # one bad key spoils the list
        "ключ" * 11,
    ],
    # Named, not shown: one value holds a key made at import, and parallel test runners
    # must collect the same ids in every process.
    ids=["empty", "blank", "comma", "not-fernet", "too-short", "too-long", "one-bad", "cyrillic"],
)
def test_bad_secrets_key_is_rejected(bad: str) -> None:
    with pytest.raises(SecretsKeyError) as caught:
        SecretBox(bad)
    assert NEW not in str(caught.value)  # never echoes a key
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("token", ["", "garbage", "gAAAAA" + "A" * 80])
def test_unreadable_tokens(token: str) -> None:
    box = SecretBox(NEW)
    with pytest.raises(UndecryptableSecret):
        box.decrypt(token)
    with pytest.raises(UndecryptableSecret):
        box.rotate(token)


def test_a_tampered_token_is_refused() -> None:
    box = SecretBox(NEW)
    token = box.encrypt(API_KEY)
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(UndecryptableSecret):
        box.decrypt(tampered)


def test_fingerprint() -> None:
    assert fingerprint(API_KEY) == fingerprint(API_KEY)
    assert fingerprint(API_KEY) != fingerprint(API_KEY + "x")
    assert fingerprint(API_KEY).startswith("sha256:")
    assert len(fingerprint(API_KEY)) == len("sha256:") + 10
    assert "c2tf" not in fingerprint(API_KEY)
