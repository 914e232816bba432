"""Where the dashboard reads from and who may sign in: paths from the environment.

``python -m chairside dashboard`` sets CHAIRSIDE_DB and CHAIRSIDE_USERS for the Streamlit
process; the database is opened read-only for every refresh, and written only through the
core's command functions for human actions.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import streamlit as st

from vitals.errors import ChairsideError
from vitals.store import DEFAULT_DB, connect_readonly
from vitals.store.owner_lock import db_lock_path, read_status
from vitals.users import DEFAULT_USERS


def db_path() -> Path:
    return Path(os.environ.get("CHAIRSIDE_DB", str(DEFAULT_DB)))


def users_path() -> Path:
    return Path(os.environ.get("CHAIRSIDE_USERS", str(DEFAULT_USERS)))


def open_store() -> sqlite3.Connection:
    """A fresh read-only connection per refresh: cheap, and never holds a stale snapshot."""
    return connect_readonly(db_path())


T = TypeVar("T")


def read_store(reader: Callable[[sqlite3.Connection], T]) -> T | None:
    """Run ``reader`` on a fresh read-only connection; a store error is shown, not raised."""
    try:
        conn = open_store()
    except ChairsideError as exc:
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
    refuses its writes): who it is, and how the store is."""
    return read_status(db_lock_path(db_path()))
