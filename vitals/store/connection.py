"""Opening the database: one read-write connection for the writer, read-only ones for readers.

``db`` is a SQLite file (a Path) or any store location (``vitals.store.location``): a
PostgreSQL server gives a ``PgConnection`` with the same API (``vitals.store.pg``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from vitals.errors import StoreError
from vitals.store import chain
from vitals.store.location import PostgresServer, StoreLocation, locate, needs_file
from vitals.store.pg import PgConnection

DEFAULT_DB = Path("data/chairside.db")
DB_HELP = (
    f"the store: a SQLite file (default {DEFAULT_DB}) or a PostgreSQL database, "
    "postgresql://user@host/dbname (the password from PGPASSFILE or PGPASSWORD)"
)
Store = StoreLocation | Path | str  # what every store function accepts as ``db``


def connect_writer(path: Store, busy_s: float = 10.0) -> sqlite3.Connection:
    """The write connection: WAL so readers never block acquisition, FULL sync for durability.

    ``synchronous=FULL`` makes every commit survive a power cut, not just a process crash;
    the writer commits in groups, so the cost is one fsync per group, not per reading.
    ``busy_s`` is how long a write waits for another process's lock before it fails.

    A new file is created readable by its owner only (SQLite gives its -wal and -shm files
    the same mode), and the connection can compute the audit chain's hashes.

    On PostgreSQL: a session that waits ``busy_s`` for a lock (the server computes the
    chain's hashes itself; durability is the server's ``synchronous_commit``).
    """
    where = locate(path)
    if isinstance(where, PostgresServer):
        return _connect_server(where, readonly=False, busy_s=busy_s)
    path = where.path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        create_private(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_s)
        chain.register(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open database {path} for writing: {exc}") from None
    return conn


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists: patients' records are not for
    every account on the machine."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def connect_readonly(path: Store, check_same_thread: bool = True) -> sqlite3.Connection:
    """A reader that can never write, so the dashboard cannot corrupt what the recorder stores.

    ``check_same_thread=False`` is for a reader its owner shares under a lock. On PostgreSQL
    the session's transactions are read-only (``default_transaction_read_only``); a server
    account with SELECT rights only is the stronger guard, for the clinic's IT to give.
    """
    where = locate(path)
    if isinstance(where, PostgresServer):
        return _connect_server(where, readonly=True, busy_s=10.0)
    path = where.path
    if not path.exists():
        raise StoreError(f"database {path} does not exist yet: start the recorder first")
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=10,
            check_same_thread=check_same_thread,
        )
        conn.execute("PRAGMA query_only=ON")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open database {path} for reading: {exc}") from None
    return conn


def _connect_server(where: PostgresServer, readonly: bool, busy_s: float) -> PgConnection:
    try:
        return PgConnection(where.url, readonly=readonly, lock_timeout_s=busy_s)
    except sqlite3.Error as exc:
        use = "reading" if readonly else "writing"
        raise StoreError(f"cannot open {where.describe()} for {use}: {exc}") from None


def copy_store(source: Path, target: Path) -> None:
    """Start ``target`` as a copy of the recorded database ``source`` (the sample, a colleague's
    recording), through SQLite's backup so the copy is consistent even while ``source`` is read.

    Refuses to overwrite: a clinic's recordings are never replaced by a sample.
    """
    target = needs_file(target, "starting a store as a copy of another (--start-from)")
    if target.exists():
        raise StoreError(f"database {target} already exists: it is never overwritten")
    if not Path(source).is_file():
        raise StoreError(f"cannot copy {source}: no such database file")
    reader = connect_readonly(source)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        create_private(target)
        copy = sqlite3.connect(target)
        try:
            reader.backup(copy)
        finally:
            copy.close()
    except (sqlite3.Error, OSError) as exc:
        target.unlink(missing_ok=True)
        raise StoreError(f"cannot copy {source} to {target}: {exc}") from None
    finally:
        reader.close()
