"""API key tokens, argon2id hashing and the verified-secret cache (``accord/safeguards/apikeys.py``)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from accord.ids import UlidFactory
from accord.safeguards.apikeys import KeyVerifier, ParsedKey, format_key, new_secret, parse_key

KEY_ID = "key_01KAXN5V2M3Q4R5S6T7V8W9X0Y"


def test_format_parse_round_trip() -> None:
    key_id, secret = UlidFactory()("key"), new_secret()
    token = format_key(key_id, secret)
    assert token.startswith("accord_key_")
    assert parse_key(token) == ParsedKey(key_id, secret)


@given(secret=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1))
def test_round_trip_for_any_url_safe_secret(secret: str) -> None:
    # token_urlsafe secrets may hold "_" anywhere, including first and last
    assert parse_key(format_key(KEY_ID, secret)) == ParsedKey(KEY_ID, secret)


def test_new_secrets_are_long_and_distinct() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(len(s) >= 40 for s in secrets)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "accord",
        "accord_",
        "accord_key",
        "accord_key_",
        "accord_key__secret",  # empty key id
        f"accord_{KEY_ID}_",  # empty secret
        f"accord_{KEY_ID}",  # no secret at all
        f"other_{KEY_ID}_secret",
        f"Accord_{KEY_ID}_secret",
        "accord_kee_01KAXN5V2M3Q4R5S6T7V8W9X0Y_secret",
        f"Bearer accord_{KEY_ID}_secret",
        f"{KEY_ID}_secret",
    ],
)
def test_malformed_tokens_parse_to_none(token: str) -> None:
    assert parse_key(token) is None


def test_hash_is_argon2id_and_does_not_contain_the_secret() -> None:
    secret = new_secret()
    digest = KeyVerifier().hash(secret)
    assert digest.startswith("$argon2id$")
    assert secret not in digest
    assert KeyVerifier().hash(secret) != digest  # salted
    assert PasswordHasher().verify(digest, secret)


@pytest.fixture(scope="module")
def stored() -> tuple[str, str]:
    secret = new_secret()
    return secret, KeyVerifier().hash(secret)


def test_verify_true_and_false(stored: tuple[str, str]) -> None:
    secret, digest = stored
    v = KeyVerifier()
    assert v.verify(KEY_ID, secret, digest) is True
    assert KeyVerifier().verify(KEY_ID, secret + "x", digest) is False
    assert KeyVerifier().verify(KEY_ID, "", digest) is False
    assert KeyVerifier().verify(KEY_ID, secret, "not-a-hash") is False


def test_cache_does_not_accept_a_wrong_secret_after_a_right_one(stored: tuple[str, str]) -> None:
    secret, digest = stored
    v = KeyVerifier()
    assert v.verify(KEY_ID, secret, digest)
    assert v.verify(KEY_ID, secret, digest)  # cached
    assert not v.verify(KEY_ID, secret[:-1], digest)
    assert not v.verify(KEY_ID, "wrong", digest)
    other_hash = KeyVerifier().hash("another secret")
    assert not v.verify(KEY_ID, secret, other_hash)  # the cache is bound to the stored hash
    assert v.verify(KEY_ID, secret, digest)


def test_a_wrong_secret_does_not_poison_the_cache(stored: tuple[str, str]) -> None:
    secret, digest = stored
    v = KeyVerifier()
    assert not v.verify(KEY_ID, "wrong", digest)
    assert v.verify(KEY_ID, secret, digest)


class CountingHasher:
    def __init__(self) -> None:
        self.calls = 0
        self._real = PasswordHasher()

    def verify(self, digest: str, secret: str) -> bool:
        self.calls += 1
        return self._real.verify(digest, secret)


def test_cache_skips_argon2_and_forget_clears_it(stored: tuple[str, str]) -> None:
    secret, digest = stored
    counting = CountingHasher()
    v = KeyVerifier(counting)
    assert v.verify(KEY_ID, secret, digest)
    assert counting.calls == 1
    assert v.verify(KEY_ID, secret, digest)
    assert counting.calls == 1  # served from the cache
    v.forget(KEY_ID)
    assert v.verify(KEY_ID, secret, digest)
    assert counting.calls == 2  # verified again after forget
    v.forget("key_unknown")  # forgetting an unknown id is harmless
    assert v.verify(KEY_ID, secret, digest) and counting.calls == 2


def test_cache_is_per_key_id(stored: tuple[str, str]) -> None:
    secret, digest = stored
    counting = CountingHasher()
    v = KeyVerifier(counting)
    assert v.verify(KEY_ID, secret, digest)
    assert v.verify("key_OTHER", secret, digest)
    assert counting.calls == 2
    v.forget(KEY_ID)
    assert v.verify("key_OTHER", secret, digest) and counting.calls == 2


def test_concurrent_first_use_runs_argon2_once(stored: tuple[str, str]) -> None:
    import threading

    secret, digest = stored
    counting = CountingHasher()
    v = KeyVerifier(counting)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(v.verify(KEY_ID, secret, digest))) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 32
    assert counting.calls == 1


class CountingFullHasher(CountingHasher):
    def hash(self, secret: str) -> str:
        return self._real.hash(secret)


def test_password_check_is_never_cached(stored: tuple[str, str]) -> None:
    """People's passwords: every sign-in attempt pays argon2, right or wrong."""
    secret, digest = stored
    counting = CountingFullHasher()
    v = KeyVerifier(counting)
    assert v.check(secret, digest) and v.check(secret, digest)
    assert not v.check("wrong", digest) and not v.check(secret, "not-a-hash")
    assert counting.calls == 4


def test_check_nothing_spends_one_argon2_verification() -> None:
    counting = CountingFullHasher()
    v = KeyVerifier(counting)
    v.check_nothing("any password")
    v.check_nothing("another")
    assert counting.calls == 2
