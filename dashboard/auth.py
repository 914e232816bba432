"""Who is at the station: a nurse signs in once; a signed, expiring cookie keeps the station up.

A central station must not go blank when someone presses F5, opens a bookmark, closes the tab
or restarts the dashboard. So the sign-in is not kept in Streamlit's session (which a reload
throws away) but in a cookie the dashboard's own HTTP route sets (``server.py``): HttpOnly,
SameSite=Strict, signed and time-stamped by itsdangerous with a key kept beside the users
file, so it survives a restart. Pages read it through ``st.context.cookies``.

Two clocks run on one cookie:

* the station may *show* the overview — alarms and their sound included — for ``VIEW_FOR``
  after its last page load (each load renews the cookie), so a station left on stays on;
* a nurse may *act* (acknowledge, log events, start or end sessions, open the records) for
  ``SHIFT`` after she typed her password and, with ``--idle-lock MIN``, while the station is
  used; after that the station is locked: overview read-only, alarms on, "Sign in to act".

A changed password or a nurse removed from the users file ends her cookie at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from itsdangerous import BadSignature, URLSafeTimedSerializer

from dashboard import station
from dashboard.source import idle_lock_minutes, users_path
from vitals.errors import ChairsideError
from vitals.users import load_users, verify_password

log = logging.getLogger("chairside.dashboard")

COOKIE = "chairside_station"
VIEW_FOR_S = 30 * 24 * 3600  # a station left on stays signed in; every page load renews it
SHIFT_S = 12 * 3600  # a password lasts one shift for acting
RECHECK_S = 30  # how often a page re-reads the users file (a removed nurse is out in 30 s)
STATION_KEY = "station"  # session state: the station this browser session is signed in as


@dataclass(frozen=True)
class Station:
    """A signed-in station: who typed the password, when, and the station's own id."""

    nurse: str
    signed_in: float  # epoch seconds of the password
    station_id: str
    cookie_set: float = 0.0  # epoch seconds the cookie was last issued or renewed


def key_path(users: Path) -> Path:
    return Path(users).with_suffix(".station-key")


def station_key(users: Path) -> bytes:
    """The signing key, created once beside the users file (mode 0600) and kept: sign-ins
    outlive a restart. Where it cannot be written, a key for this process only."""
    path = key_path(users)
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        pass
    key = secrets.token_bytes(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key.hex())
    except FileExistsError:
        return station_key(users)  # another process created it first: use theirs
    except OSError as exc:
        log.warning("cannot keep the station key at %s (%s): sign-ins end on restart", path, exc)
    return key


def _serializer(key: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt="chairside-station")


def _fingerprint(stored_hash: str) -> str:
    """Ties a cookie to the password it was issued for: a new password ends old cookies."""
    return hashlib.sha256(stored_hash.encode()).hexdigest()[:16]


def issue(key: bytes, nurse: str, stored_hash: str, was: Station | None = None) -> str:
    """A cookie value for ``nurse``; ``was`` renews an existing one (same sign-in, same id)."""
    now = time.time()
    payload = {
        "nurse": nurse,
        "pw": _fingerprint(stored_hash),
        "at": was.signed_in if was else now,
        "id": was.station_id if was else secrets.token_urlsafe(12),
    }
    return _serializer(key).dumps(payload)


def read(key: bytes, token: str | None, users: dict[str, str]) -> Station | None:
    """The station a cookie stands for, or None if it is forged, expired or out of date."""
    if not token:
        return None
    try:
        data, stamp = _serializer(key).loads(token, max_age=VIEW_FOR_S, return_timestamp=True)
        nurse, stored = data["nurse"], users.get(data["nurse"])
        if stored is None or data["pw"] != _fingerprint(stored):
            return None
        return Station(str(nurse), float(data["at"]), str(data["id"]), stamp.timestamp())
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def check_password(nurse: str, password: str) -> str | None:
    """The stored hash when ``password`` is ``nurse``'s, else None (one place for sign-in)."""
    stored = load_users(users_path()).get(nurse.strip())
    if stored is None or not verify_password(password, stored):
        return None
    return stored


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a path on this server, never another site."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    if path.startswith("/station/"):
        return "/"
    return path


# --- the Streamlit side -------------------------------------------------------------------


def current_station() -> Station | None:
    """This browser session's station, from its cookie (re-checked every ``RECHECK_S``)."""
    token = st.context.cookies.get(COOKIE)
    known = st.session_state.get(STATION_KEY)
    checked = st.session_state.get("station_checked", (None, 0.0))
    if not isinstance(token, str):
        return known  # AppTest and bench seat a station directly; a browser never does
    if checked[0] == token and time.monotonic() - checked[1] < RECHECK_S:
        return known
    try:
        users = load_users(users_path())
    except ChairsideError as exc:
        st.error(str(exc))
        return None
    found = read(station_key(users_path()), token, users)
    st.session_state[STATION_KEY] = found
    st.session_state["station_checked"] = (token, time.monotonic())
    return found


def lock_reason(found: Station | None, now: float | None = None) -> str | None:
    """Why the signed-in station may show but not act, or None when the nurse may act."""
    if found is None:
        return "signed out"
    now = time.time() if now is None else now
    if now - found.signed_in > SHIFT_S:
        return f"{found.nurse}'s sign-in is more than {SHIFT_S // 3600} hours old"
    idle_min = idle_lock_minutes()
    if idle_min:
        used = station.last_used(found.station_id) or found.signed_in
        if now - used > idle_min * 60:
            return f"locked after {idle_min:g} min without use"
    return None


def current_user() -> str | None:
    """The nurse who acts from this station now; None while signed out or locked."""
    found = current_station()
    if found is None or lock_reason(found):
        return None
    return found.nurse


def note_use() -> None:
    """A nurse used the station: the idle lock starts counting again."""
    found = current_station()
    if found is not None and not lock_reason(found):
        station.touch(found.station_id)
