"""Why the central store did not take a site's copy, in the words the station and ``doctor``
show: each cause its own sentence, so the clinic's IT person fixes the right thing.

A PostgreSQL error reaches the relay as the ``sqlite3`` error of the same meaning
(``vitals/store/pg.py``) carrying the server's SQLSTATE; the psycopg exception itself stays on
the chain (``__cause__``/``__context__``). A failed sign-in has no SQLSTATE in libpq (the server
closes the connection), so its FATAL message is read instead.
"""

from __future__ import annotations

import re
import sqlite3

from vitals.errors import ConfigError, StoreError
from vitals.store.central import ForwardingError

UNREACHABLE = "the central store cannot be reached"
NO_ANSWER = "the central store does not answer"
SIGN_IN = "the central store refused this site's sign-in: check its user and PGPASSFILE"
NO_DATABASE = "the central store's database does not exist: check the database name in --forward"
NO_RIGHTS = (
    "the central store's account may not write the tables: permission denied, the server's"
    " owner must GRANT this site's user its rights"
)
DISK_FULL = "the central store's disk is full"
BUSY = "the central store is busy: another site is writing"
RESTARTING = "the central store is shutting down or starting up"
NOT_CHAIRSIDE = (
    "the central store lacks a table Chairside needs: check that --forward names the group's"
    " Chairside database"
)
NEWER = "the central store was upgraded by a newer Chairside: upgrade this site too"

# A setting to correct: retrying never cures these.
PERMANENT = frozenset({SIGN_IN, NO_DATABASE, NO_RIGHTS, NOT_CHAIRSIDE, NEWER})

# SQLSTATE (exact code, else its two-character class) -> the station's words.
_BY_SQLSTATE = {
    "3D000": NO_DATABASE,
    "28000": SIGN_IN,
    "28P01": SIGN_IN,
    "42501": NO_RIGHTS,
    "42P01": NOT_CHAIRSIDE,
    "53100": DISK_FULL,
    "55P03": BUSY,
    "40P01": BUSY,
    "40001": BUSY,
    "57014": NO_ANSWER,  # statement_timeout: the server took too long
    "57P01": RESTARTING,
    "57P02": RESTARTING,
    "57P03": RESTARTING,
    "08": UNREACHABLE,
    "53": DISK_FULL,
}
# libpq's sign-in failures carry no SQLSTATE: the server's FATAL message, first match wins.
_BY_TEXT = (
    (re.compile(r'database "[^"]*" does not exist'), NO_DATABASE),
    (re.compile(r'password|authentication|pg_hba\.conf|role "[^"]*" does not exist'), SIGN_IN),
    (re.compile(r"timeout expired|timed out|does not answer"), NO_ANSWER),
    (re.compile(r"locked|busy"), BUSY),
    (re.compile(r"no space|disk.*full"), DISK_FULL),
    (re.compile(r"permission denied"), NO_RIGHTS),
)


def in_words(exc: BaseException) -> str:
    """Why the central store did not take the copy, as the station shows it (the details and
    the traceback are in the recorder's log)."""
    if isinstance(exc, ForwardingError | ConfigError):
        return str(exc)  # our own sentence
    words = _by_sqlstate(exc)
    if words:
        return words
    text = " ".join(str(link).lower() for link in _chain(exc))
    for pattern, found in _BY_TEXT:
        if pattern.search(text):
            return found
    if isinstance(exc, StoreError) and "newer" in text:
        return NEWER
    if isinstance(exc, StoreError | OSError | sqlite3.Error):  # psycopg's come as sqlite3's
        return UNREACHABLE
    return f"forwarding fault ({type(exc).__name__}); see the recorder's log"


def is_expected(exc: BaseException) -> bool:
    """A cause the station names (a link down, a refusal), as opposed to a fault in our code
    whose traceback is always worth logging."""
    return not in_words(exc).startswith("forwarding fault")


def _by_sqlstate(exc: BaseException) -> str | None:
    for link in _chain(exc):
        state = getattr(link, "sqlstate", None)
        if state:
            return _BY_SQLSTATE.get(state) or _BY_SQLSTATE.get(state[:2])
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or while handling (the adapter's original)."""
    seen: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in seen:
        seen.append(link)
        link = link.__cause__ or link.__context__
    return seen
