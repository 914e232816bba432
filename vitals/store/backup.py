"""Backups of a store: a consistent copy of a live database, kept in generations.

SQLite's online backup API copies the database as one read transaction sees it, so a backup
taken while the recorder writes is consistent, and in WAL mode the recorder never waits for
it. The copy is written under a ``.partial`` name, synced, and only then renamed, so a file
with a backup's name is always whole. Names carry the UTC time and sort by age::

    <out>/chairside-20261005T083000Z.db                                 chairside backup
    <out>/chairside-20261005T083000Z-before-m007_compact_readings.db    before an upgrade

Pruning deletes only files of exactly this form, of the same database and label: a clinic's
other files in the folder, and the copies kept before upgrades, are never touched by the
daily generations.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from vitals.errors import ConfigError, StoreError
from vitals.store.connection import connect_readonly, create_private

TIME_FORMAT = "%Y%m%dT%H%M%SZ"
LABEL = re.compile(r"^[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*$")
SPARE_BYTES = 64 * 1024 * 1024  # left free after a backup, so the recorder can still write


@dataclass(frozen=True)
class Backup:
    """A backup written, and the older generations that were removed to keep ``keep``."""

    path: Path
    size: int
    removed: tuple[Path, ...] = ()


def backup_name(db: Path, at: datetime, label: str = "") -> str:
    if label and not LABEL.match(label):
        raise ConfigError(f"backup label {label!r}: use letters, digits, '.', '_' and '-'")
    suffix = f"-{label}" if label else ""
    return f"{Path(db).stem}-{at.astimezone(UTC).strftime(TIME_FORMAT)}{suffix}.db"


def backups(out_dir: Path, db: Path, label: str = "") -> list[Path]:
    """The backups of ``db`` with this label in ``out_dir``, oldest first."""
    suffix = f"-{re.escape(label)}" if label else ""
    pattern = re.compile(rf"^{re.escape(Path(db).stem)}-\d{{8}}T\d{{6}}Z{suffix}\.db$")
    if not Path(out_dir).is_dir():
        return []
    return sorted(p for p in Path(out_dir).iterdir() if pattern.match(p.name) and p.is_file())


def backup_store(
    db: Path, out_dir: Path, keep: int | None = None, label: str = "", at: datetime | None = None
) -> Backup:
    """Copy ``db`` into ``out_dir`` while it may be in use; keep the newest ``keep`` copies.

    Raises StoreError (database missing or unreadable, too little free disk, a backup of that
    name exists) and ConfigError (a bad ``keep`` or label); nothing half-written is left.
    """
    if keep is not None and keep < 1:
        raise ConfigError(f"--keep must be at least 1, got {keep}")
    db, out_dir = Path(db), Path(out_dir)
    target = out_dir / backup_name(db, at or datetime.now(UTC), label)
    source = connect_readonly(db)
    try:
        _make_room(source, out_dir)
        if target.exists():
            raise StoreError(f"backup {target} already exists")
        _copy(source, target)
    finally:
        source.close()
    removed = _prune(out_dir, db, keep, label) if keep else []
    return Backup(target, target.stat().st_size, tuple(removed))


def _make_room(source: sqlite3.Connection, out_dir: Path) -> None:
    """The backup folder exists and has room for a copy of the whole database."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(out_dir).free
        (pages,) = source.execute("PRAGMA page_count").fetchone()
        (page_size,) = source.execute("PRAGMA page_size").fetchone()
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot prepare backup folder {out_dir}: {exc}") from None
    needed = pages * page_size
    if free < needed + SPARE_BYTES:
        raise StoreError(
            f"not enough free disk for a backup in {out_dir}: it needs {_mb(needed)} "
            f"plus {_mb(SPARE_BYTES)} to spare, {_mb(free)} is free"
        )


def _copy(source: sqlite3.Connection, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        create_private(partial)
        copy = sqlite3.connect(partial, isolation_level=None)
        try:
            source.backup(copy)
            # one self-contained file: no -wal beside it to lose when it is copied away
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise StoreError(f"backup to {target} failed: {exc}") from None


def _prune(out_dir: Path, db: Path, keep: int, label: str) -> list[Path]:
    old = backups(out_dir, db, label)[:-keep]
    for path in old:
        path.unlink()
    return old


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB"
