"""The station's sign-in cookie: signed, expiring, tied to the password, kept over restarts."""

import os
import stat
import time
from pathlib import Path

import pytest
from itsdangerous import URLSafeTimedSerializer

from dashboard import auth
from dashboard.auth import Station, issue, lock_reason, read, safe_next, station_key
from vitals.users import add_user, load_users


@pytest.fixture
def users(tmp_path: Path) -> Path:
    path = tmp_path / "users.toml"
    add_user(path, "Nurse Ada", "lovelace")
    return path


def test_a_cookie_names_the_nurse_and_outlives_a_restart(users: Path) -> None:
    key = station_key(users)
    token = issue(key, "Nurse Ada", load_users(users)["Nurse Ada"])
    assert station_key(users) == key  # a restarted dashboard reads the same key
    mode = stat.S_IMODE(os.stat(auth.key_path(users)).st_mode)
    assert mode == 0o600  # only the dashboard's user may read it
    found = read(station_key(users), token, load_users(users))
    assert found.nurse == "Nurse Ada" and time.time() - found.signed_in < 5


def test_forged_expired_and_outdated_cookies_are_refused(users: Path, monkeypatch) -> None:
    key = station_key(users)
    token = issue(key, "Nurse Ada", load_users(users)["Nurse Ada"])
    assert read(key, token[:-2] + "xx", load_users(users)) is None  # forged signature
    assert read(b"another key" * 3, token, load_users(users)) is None
    assert read(key, None, load_users(users)) is None
    forged = URLSafeTimedSerializer(b"guess", salt="chairside-station").dumps({"nurse": "x"})
    assert read(key, forged, load_users(users)) is None
    later = time.time() + auth.VIEW_FOR_S + 60
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert read(key, token, load_users(users)) is None  # expired
    monkeypatch.undo()
    add_user(users, "Nurse Ada", "a new password")
    assert read(key, token, load_users(users)) is None  # the password changed


def test_a_renewed_cookie_keeps_the_sign_in_time_and_the_station(users: Path) -> None:
    key = station_key(users)
    stored = load_users(users)["Nurse Ada"]
    first = read(key, issue(key, "Nurse Ada", stored), load_users(users))
    renewed = read(key, issue(key, "Nurse Ada", stored, first), load_users(users))
    assert (renewed.signed_in, renewed.station_id) == (first.signed_in, first.station_id)


def test_a_sign_in_lasts_a_shift_and_an_idle_lock_counts_from_the_last_use(monkeypatch) -> None:
    now = time.time()
    assert lock_reason(Station("Nurse Ada", now - 3600, "s1"), now) is None
    assert "12 hours" in lock_reason(Station("Nurse Ada", now - 13 * 3600, "s1"), now)
    monkeypatch.setenv("CHAIRSIDE_IDLE_LOCK_MIN", "15")
    idle = Station("Nurse Ada", now - 3600, "s2")
    assert "15 min without use" in lock_reason(idle, now)
    auth.station.touch("s2", now - 60)
    assert lock_reason(idle, now) is None


@pytest.mark.parametrize(
    ("asked", "goes"),
    [
        ("/review?x=1", "/review?x=1"),
        ("/", "/"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/station/sign-out", "/"),
        (None, "/"),
    ],
)
def test_after_signing_in_a_nurse_goes_only_to_a_page_of_this_dashboard(asked, goes) -> None:
    assert safe_next(asked) == goes
