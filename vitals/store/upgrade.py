"""Opening a store for writing: a newer Chairside backs an older store up, then migrates it.

A migration rewrites a clinic's history in place. If the new version's migration (or the new
version itself) turns out wrong, the clinic must still have the file exactly as the old
version left it; so before the first pending migration runs on a store that already holds
data, a consistent copy goes to the backup folder, named for the migration it precedes
(``chairside-20261005T083000Z-before-m004_x.db``). These copies are not pruned with the
daily generations. A new, empty store has nothing to keep and is migrated at once; a store
written by a newer Chairside is refused before anything is copied or changed.

On PostgreSQL the server's own backups keep the clinic's history (a file copy is not ours to
make there); each migration is one transaction, so a failed one leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from vitals.errors import StoreError
from vitals.store import pg_migrations
from vitals.store.backup import backup_store
from vitals.store.connection import Store, connect_writer
from vitals.store.location import PostgresServer, locate
from vitals.store.migrations import applied, migrate, pending
from vitals.store.pg import is_pg

BACKUP_DIR_ENV = "CHAIRSIDE_BACKUP_DIR"
log = logging.getLogger("chairside.store")


def backup_dir(db: Path | PostgresServer) -> Path:
    """Where upgrade backups go: $CHAIRSIDE_BACKUP_DIR (the service sets it), else
    ``backups/`` beside the database (``data/backups`` for a site whose store is a server)."""
    configured = os.environ.get(BACKUP_DIR_ENV)
    if configured:
        return Path(configured)
    folder = Path("data") if isinstance(db, PostgresServer) else Path(db).resolve().parent
    return folder / "backups"


def open_migrated(db: Store, busy_s: float | None = None) -> sqlite3.Connection:
    """The write connection of an up-to-date store (backed up first if it had to change)."""
    conn = connect_writer(db) if busy_s is None else connect_writer(db, busy_s)
    try:
        if is_pg(conn):
            pg_migrations.migrate(conn)
        else:
            upgrade(conn, db)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot bring {locate(db).describe()} up to date: {exc}") from None
    except BaseException:
        conn.close()
        raise
    return conn


def upgrade(conn: sqlite3.Connection, db: Path) -> list[str]:
    """Migrate ``conn`` (the store at ``db``); a store with history is backed up first."""
    todo = pending(conn)
    if todo and applied(conn):
        first = todo[0].__name__
        copy = backup_store(db, backup_dir(db), label=f"before-{first}")
        log.warning(
            "database %s has an older schema (%s): backed up to %s before migrating",
            db,
            applied(conn)[-1],
            copy.path,
        )
    return migrate(conn)
