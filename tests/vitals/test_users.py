from pathlib import Path

import pytest

from vitals.errors import ConfigError
from vitals.users import add_user, authenticate, hash_password, load_users, verify_password


def test_hash_is_salted_and_verifies() -> None:
    a, b = hash_password("s3cret"), hash_password("s3cret")
    assert a != b and a.startswith("scrypt$")
    assert verify_password("s3cret", a) and not verify_password("s3creT", a)
    assert not verify_password("s3cret", "md5$abc")


def test_users_file_holds_hashes_only(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "Nurse Ada", "lovelace")
    add_user(path, "Nurse Ben", "franklin")
    assert "lovelace" not in path.read_text()
    assert set(load_users(path)) == {"Nurse Ada", "Nurse Ben"}
    assert authenticate(path, "Nurse Ada", "lovelace")
    assert not authenticate(path, "Nurse Ada", "franklin")
    assert not authenticate(path, "Nobody", "x")
    assert path.stat().st_mode & 0o077 == 0


def test_missing_users_file_says_how_to_add_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="python -m chairside user add"):
        load_users(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="at least 4"):
        hash_password("abc")
