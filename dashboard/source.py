"""Where the dashboard reads from, who may sign in, and the clinic's settings: from the
environment.

``python -m chairside dashboard`` sets CHAIRSIDE_DB, CHAIRSIDE_USERS, CHAIRSIDE_TIMEZONE and
CHAIRSIDE_IDLE_LOCK_MIN for the Streamlit process; the database is opened read-only for
every refresh, and written only through the core's command functions for human actions.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from typing import TypeVar

import streamlit as st

from vitals.clinic_time import clinic_zone
from vitals.errors import ChairsideError
from vitals.logs import configure_logging, log_dir_for
from vitals.store import DEFAULT_DB, connect_readonly
from vitals.store.location import PostgresServer, db_argument, describe
from vitals.store.owner_lock import db_lock_path, read_status
from vitals.users import DEFAULT_USERS


def db_path() -> Path | PostgresServer:
    """The store: a SQLite file, or a PostgreSQL server (a group's central review)."""
    return db_argument(os.environ.get("CHAIRSIDE_DB", str(DEFAULT_DB)))


def central() -> bool:
    """Whether this dashboard reads a central PostgreSQL store: review across the sites,
    while each site's own station watches its chairs live."""
    return isinstance(db_path(), PostgresServer)


def users_path() -> Path:
    return Path(os.environ.get("CHAIRSIDE_USERS", str(DEFAULT_USERS)))


log = logging.getLogger("chairside.dashboard")


@st.cache_resource
def start_logging() -> None:
    """Once per dashboard process: ``dashboard.log`` in $CHAIRSIDE_LOG_DIR (set by
    ``chairside dashboard``), else beside the database."""
    where = db_path()
    configure_logging("dashboard", log_dir_for(users_path() if central() else where))
    log.info("dashboard serving %s", describe(where))


def zone() -> tzinfo:
    """The clinic's time zone: --timezone, else the machine's (TZ included)."""
    return _zone(os.environ.get("CHAIRSIDE_TIMEZONE", ""), os.environ.get("TZ", ""))


@functools.cache
def _zone(name: str, machine: str) -> tzinfo:
    return clinic_zone(name or None)


def idle_lock_minutes() -> float:
    """Minutes without use after which the station locks for acting; 0 = no idle lock."""
    try:
        return max(0.0, float(os.environ.get("CHAIRSIDE_IDLE_LOCK_MIN", "0") or 0))
    except ValueError:
        return 0.0


def open_store() -> sqlite3.Connection:
    """A fresh read-only connection per refresh: cheap, and never holds a stale snapshot."""
    return connect_readonly(db_path())


T = TypeVar("T")


def read_store(reader: Callable[[sqlite3.Connection], T]) -> T | None:
    """Run ``reader`` on a fresh read-only connection; a store error is shown, not raised."""
    try:
        conn = open_store()
    except ChairsideError as exc:
        log.error("%s", exc)
        st.error(str(exc))
        return None
    try:
        return reader(conn)
    except sqlite3.Error as exc:  # a damaged or vanished file: said, never a crash page
        st.error(f"The database cannot be read ({exc}): values are not live.")
        return None
    finally:
        conn.close()


def recorder_status() -> dict | None:
    """What the recorder last published beside the database (readable when the database
    refuses its writes): who it is, and how the store is. A server has no file beside it."""
    where = db_path()
    return None if isinstance(where, PostgresServer) else read_status(db_lock_path(where))
