"""Verifying a store or a backup of it: the file is sound and its audit chain unbroken."""

from __future__ import annotations

import sqlite3

from vitals.store.chain import Verdict, verify, verify_prefix
from vitals.store.connection import Store, connect_readonly
from vitals.store.pg import is_pg


def verify_file(db: Store, against: Store | None = None) -> Verdict:
    """Verify the store (or a backup) at ``db``: SQLite's own check of the file, the chain,
    and with ``against`` that ``db``'s chain is where the live store's chain began.

    On PostgreSQL the server keeps its own pages whole (its checksums, its IT's checks): the
    chain is verified by the same code."""
    conn = connect_readonly(db)
    try:
        if not is_pg(conn):
            (health,) = conn.execute("PRAGMA quick_check").fetchone()
            if health != "ok":
                return Verdict(False, 0, "", f"the database file is damaged: {health}")
        verdict = verify(conn)
        if verdict.intact and against is not None:
            live = connect_readonly(against)
            try:
                problem = verify_prefix(conn, live)
            finally:
                live.close()
            if problem:
                return Verdict(False, verdict.links, verdict.head, problem)
        return verdict
    except sqlite3.DatabaseError as exc:
        return Verdict(False, 0, "", f"{db} cannot be read as a database: {exc}")
    finally:
        conn.close()
