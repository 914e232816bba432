"""Where the dashboard reads from: the database named by CHAIRSIDE_DB, opened read-only."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from vitals.store import DEFAULT_DB, connect_readonly


def db_path() -> Path:
    return Path(os.environ.get("CHAIRSIDE_DB", str(DEFAULT_DB)))


def open_store() -> sqlite3.Connection:
    """A fresh read-only connection per refresh: cheap, and never holds a stale snapshot."""
    return connect_readonly(db_path())
