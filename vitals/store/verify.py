"""Verifying a store or a backup of it: the file is sound and its audit chain unbroken."""

from __future__ import annotations

import sqlite3

from vitals.errors import StoreError
from vitals.store.chain import Verdict, verify, verify_prefix
from vitals.store.connection import Store, connect_readonly
from vitals.store.pg import is_pg

# Server answers that say nothing about the record: no rights, no connection, no database.
# (SQLSTATE classes 08 connection, 28 sign-in, 3D no such database, 53 resources, 57 shutdown.)
NOT_READ_CLASSES = ("08", "28", "3D", "53", "57")
NO_RIGHTS = "42501"


class StoreUnreadable(StoreError):
    """The store could not be read at all (rights, connection): no verdict on the record, so an
    auditor never takes an account without SELECT rights for a broken audit chain."""


def verify_file(db: Store, against: Store | None = None) -> Verdict:
    """Verify the store (or a backup) at ``db``: SQLite's own check of the file, the chain,
    and with ``against`` that ``db``'s chain is where the live store's chain began.

    On PostgreSQL the server keeps its own pages whole (its checksums, its IT's checks): the
    chain is verified by the same code. A store that cannot be opened or read for a reason that
    is not its content raises StoreUnreadable."""
    conn = _open(db)
    try:
        if not is_pg(conn):
            (health,) = conn.execute("PRAGMA quick_check").fetchone()
            if health != "ok":
                return Verdict(False, 0, "", f"the database file is damaged: {health}")
        verdict = verify(conn)
        if verdict.intact and against is not None:
            live = _open(against)
            try:
                problem = verify_prefix(conn, live)
            finally:
                live.close()
            if problem:
                return Verdict(False, verdict.links, verdict.head, problem)
        return verdict
    except sqlite3.DatabaseError as exc:
        reason = unreadable_reason(exc)
        if reason:
            raise StoreUnreadable(reason) from None
        return Verdict(False, 0, "", f"{db} cannot be read as a database: {exc}")
    finally:
        conn.close()


def _open(db: Store) -> sqlite3.Connection:
    try:
        return connect_readonly(db)
    except StoreError as exc:
        raise StoreUnreadable(" ".join(str(exc).split())) from None  # libpq's hint is a 2nd line


def unreadable_reason(exc: sqlite3.Error) -> str:
    """Words for a server error that is about access, not content; "" for anything else."""
    state = getattr(exc, "sqlstate", None) or ""
    if state == NO_RIGHTS:
        return f"this account may not read it ({exc}): the server's owner must GRANT SELECT to it"
    if state[:2] in NOT_READ_CLASSES:
        return f"the server stopped answering or refused the connection ({exc})"
    return ""
