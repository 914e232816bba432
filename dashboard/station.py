"""What one station (a browser signed in with one cookie) keeps across its reloads.

A reload starts a new Streamlit session and forgets its session state; a station should not
forget that its alarm sound was switched off, nor when a nurse last used it (the idle lock).
Both are kept here, in the dashboard process, keyed by the station id in the signed cookie.
A dashboard restart forgets them: sound comes back ON (the safe side) and the idle clock
restarts from the sign-in.
"""

from __future__ import annotations

import threading
import time

_lock = threading.Lock()
_sound_off: set[str] = set()
_last_used: dict[str, float] = {}
_handed_over: dict[str, object] = {}  # station id -> the patient form it is locked to


def sound_on(station_id: str) -> bool:
    with _lock:
        return station_id not in _sound_off


def set_sound(station_id: str, on: bool) -> None:
    with _lock:
        if on:
            _sound_off.discard(station_id)
        else:
            _sound_off.add(station_id)


def touch(station_id: str, at: float | None = None) -> None:
    """A nurse did something at this station (a page opened, a button pressed)."""
    with _lock:
        _last_used[station_id] = time.time() if at is None else at


def last_used(station_id: str) -> float | None:
    with _lock:
        return _last_used.get(station_id)


def hand_over(station_id: str, form: object) -> None:
    """The station is in a patient's hands: it shows ``form`` alone until a nurse takes it
    back with her password (a reload keeps it, since the cookie still names the station)."""
    with _lock:
        _handed_over[station_id] = form


def handed_over(station_id: str) -> object | None:
    with _lock:
        return _handed_over.get(station_id)


def take_back(station_id: str) -> None:
    with _lock:
        _handed_over.pop(station_id, None)
