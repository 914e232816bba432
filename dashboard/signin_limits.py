"""Sign-in attempts, limited: a password cannot be guessed at the speed of a script.

Failures are counted per nurse name and per client address over a window. Past the limit,
that name (or that client) is locked out for a while (minutes: a nurse who mistyped waits,
her colleagues sign in as usual, and the bedside monitors keep their own alarms): attempts
are refused without checking the password, and the nurse is told how long to wait. Every
failure and every lockout is logged with the name and the client; a success clears that
name's count. The counts live in
the dashboard process (one per clinic), so a restart clears them, which is acceptable for
a lockout of minutes.

``CHAIRSIDE_HIDE_NURSE_LIST=1`` makes the sign-in page ask for the name instead of listing
the nurses to anyone who opens it.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st

HIDE_NURSE_LIST_ENV = "CHAIRSIDE_HIDE_NURSE_LIST"
WINDOW_S = 15 * 60
NAME_FAILURES, NAME_LOCKOUT_S = 5, 5 * 60  # a nurse mistyping: five tries, then five minutes
CLIENT_FAILURES, CLIENT_LOCKOUT_S = 20, 15 * 60  # one machine trying many names

log = logging.getLogger("chairside.dashboard")


@dataclass
class _Tally:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class SignInLimits:
    """Failures per key (``name:…``, ``client:…``) in a sliding window, with lockouts."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tallies: dict[str, _Tally] = {}
        self._lock = threading.Lock()  # Streamlit runs each browser session in a thread

    def wait_s(self, name: str, client: str) -> float:
        """Seconds until this name and client may try again (0: now)."""
        now = self.clock()
        with self._lock:
            return max(max(0.0, self._tally(key).locked_until - now) for key in _keys(name, client))

    def failed(self, name: str, client: str) -> None:
        now = self.clock()
        with self._lock:
            for key, limit, lockout in zip(
                _keys(name, client),
                (NAME_FAILURES, CLIENT_FAILURES),
                (NAME_LOCKOUT_S, CLIENT_LOCKOUT_S),
                strict=True,
            ):
                tally = self._tally(key)
                tally.failures.append(now)
                while tally.failures and tally.failures[0] < now - WINDOW_S:
                    tally.failures.popleft()
                if len(tally.failures) >= limit:
                    tally.locked_until, tally.failures = now + lockout, deque()
                    log.warning("sign-in locked for %d min: %s", lockout // 60, key)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._tallies.pop(_keys(name, "")[0], None)

    def _tally(self, key: str) -> _Tally:
        return self._tallies.setdefault(key, _Tally())


def _keys(name: str, client: str) -> tuple[str, str]:
    return f"name:{name.strip().casefold()}", f"client:{client}"


LIMITS = SignInLimits()  # one per dashboard process: every browser session shares it


def client_address() -> str:
    """The browser's address. Behind a reverse proxy on this machine (the peer is loopback;
    Streamlit gives None for it) it is the address the proxy appended to X-Forwarded-For:
    otherwise every nurse would share the proxy's address and one guesser lock them all out.
    A remote client cannot forge it, as its own connection is never loopback."""
    return client_of(st.context.ip_address, st.context.headers.get("X-Forwarded-For", ""))


def client_of(peer: object, forwarded: object) -> str:
    peer = peer if isinstance(peer, str) else None  # (a test harness gives stand-ins)
    forwarded = forwarded if isinstance(forwarded, str) else ""
    try:
        local = peer is None or ipaddress.ip_address(peer).is_loopback
    except ValueError:
        local = False
    if local and forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return peer or "this machine"


def nurse_list_hidden() -> bool:
    return os.environ.get(HIDE_NURSE_LIST_ENV, "").strip().lower() in ("1", "true", "yes")


def attempt(name: str, check: Callable[[], bool]) -> bool:
    """Run the password ``check`` unless locked out; say why it failed; count and log it."""
    refused = judge(name, client_address(), check)
    if refused:
        st.error(refused)
    return refused is None


def judge(name: str, client: str, check: Callable[[], bool]) -> str | None:
    """None when ``name`` signs in from ``client``; else what to tell her. Locked out: the
    password is not even checked. Every outcome is logged with the name and the client."""
    limits = LIMITS
    wait = limits.wait_s(name, client)
    if wait:
        log.warning("sign-in refused while locked: %s from %s", name, client)
        return f"Too many failed sign-ins: try again in {math.ceil(wait / 60)} min."
    if name and check():
        limits.succeeded(name)
        log.info("%s signed in from %s", name, client)
        return None
    limits.failed(name, client)
    log.warning("sign-in refused for %s from %s", name, client)
    return "Name or password not recognised."
