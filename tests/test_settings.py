"""Settings (``accord/settings.py``): key files default into the data directory; the environment names others."""

from __future__ import annotations

from pathlib import Path

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
