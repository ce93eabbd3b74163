"""Settings (``accord/settings.py``): key files default into the data directory; the environment names others."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.settings import Settings


def test_key_files_default_into_the_data_directory() -> None:
    s = Settings(data_dir=Path("/srv/accord"))
    assert s.seal_key_file == Path("/srv/accord/keys/seal.key")
    assert s.signing_key_file == Path("/srv/accord/keys/signing.key")


def test_the_environment_names_the_signing_key_file() -> None:
    s = Settings.from_env({"ACCORD_DATA_DIR": "/srv/a", "ACCORD_SIGNING_KEY_FILE": "/etc/accord/signing.key"})
    assert s.signing_key_file == Path("/etc/accord/signing.key")
    assert s.seal_key_file == Path("/srv/a/keys/seal.key")
    assert Settings.from_env({"ACCORD_DATA_DIR": "/srv/a"}).signing_key_file == Path("/srv/a/keys/signing.key")


def test_the_sign_in_rate_limit_from_the_environment() -> None:
    s = Settings.from_env({"ACCORD_SIGNIN_RATE_LIMIT": "5", "ACCORD_SIGNIN_RATE_WINDOW_SECONDS": "10"})
    assert (s.signin_rate_limit, s.signin_rate_window_s) == (5, 10)
    assert (Settings().signin_rate_limit, Settings().signin_rate_window_s) == (20, 60)
    with pytest.raises(ValueError, match="ACCORD_SIGNIN_RATE_LIMIT"):
        Settings(signin_rate_limit=0)


def test_identity_dir_defaults_under_the_data_dir_and_federation_bounds_are_checked() -> None:
    assert Settings.from_env({"ACCORD_DATA_DIR": "/srv/a"}).identity_dir == Path("/srv/a/keys")
    assert Settings.from_env({"ACCORD_IDENTITY_DIR": "/etc/accord/id"}).identity_dir == Path("/etc/accord/id")
    with pytest.raises(ValueError, match="ACCORD_FEDERATION_SKEW_SECONDS"):
        Settings.from_env({"ACCORD_FEDERATION_SKEW_SECONDS": "0"})


def test_the_deconfliction_daily_limit_from_the_environment() -> None:
    assert Settings.from_env({}).deconfliction_daily_limit == 20
    assert Settings.from_env({"ACCORD_DECONFLICTION_DAILY_LIMIT": "3"}).deconfliction_daily_limit == 3
    assert Settings.from_env({}).deconfliction_open_sessions == 20
    assert Settings.from_env({"ACCORD_DECONFLICTION_OPEN_SESSIONS": "4"}).deconfliction_open_sessions == 4
    with pytest.raises(ValueError, match="ACCORD_DECONFLICTION_DAILY_LIMIT"):
        Settings.from_env({"ACCORD_DECONFLICTION_DAILY_LIMIT": "0"})
