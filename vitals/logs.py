"""Logs a clinic can hand over: a level and a chair on every line, one rotating file a process.

A line reads ``2026-10-05 09:12:01,123 WARNING chair=chair-2 chairside.worker: port ...``;
a line about no chair in particular says ``chair=-``. The chair comes from the record's
``extra={"chair": ...}`` or from the thread it was logged on (``with_chair``), so a device's
messages need not repeat it. Each process (recorder, dashboard, simulator) writes its own
file in the log folder, because two processes rotating one file lose lines; 5 files of 5 MB
each are kept. Under systemd standard error is the journal: there lines start with the
syslog priority (``<4>``) instead of a time, so ``journalctl -p warning`` filters by level.

What is logged: chair and device ids, link states and their reasons, session ids and the
pseudonymous patient reference, the nurse who acted, counts and errors. Never a reading's
value, a password or anything else about a patient.
"""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from vitals.store.location import PostgresServer

LOG_DIR_ENV = "CHAIRSIDE_LOG_DIR"
FILE_FORMAT = "%(asctime)s %(levelname)s chair=%(chair)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(levelname)s chair=%(chair)s %(name)s: %(message)s"
MAX_BYTES, BACKUPS = 5 * 1024 * 1024, 5
PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3}

_chair: contextvars.ContextVar[str] = contextvars.ContextVar("chair", default="-")
T = TypeVar("T")


def log_dir_for(db: Path | PostgresServer) -> Path:
    """$CHAIRSIDE_LOG_DIR (the service sets it), else ``logs/`` beside the database (for a
    database on a server, ``data/logs``)."""
    configured = os.environ.get(LOG_DIR_ENV)
    if configured:
        return Path(configured)
    folder = Path("data") if isinstance(db, PostgresServer) else Path(db).resolve().parent
    return folder / "logs"


def with_chair(chair: str, target: Callable[[], T]) -> Callable[[], T]:
    """``target`` run with ``chair`` on each of its log lines (a worker thread's target)."""

    def run() -> T:
        token = _chair.set(chair)
        try:
            return target()
        finally:
            _chair.reset(token)

    return run


class ChairField(logging.Filter):
    """Gives every record a ``chair``: the one passed in ``extra``, the thread's, or "-"."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "chair", None):
            record.chair = _chair.get()
        return True


class JournalFormatter(logging.Formatter):
    """journald reads a leading ``<N>`` as the line's priority; it adds the time itself."""

    def format(self, record: logging.LogRecord) -> str:
        priority = PRIORITY.get(record.levelno, 2 if record.levelno > logging.ERROR else 6)
        return f"<{priority}>{super().format(record)}"


def under_journal() -> bool:
    """True when standard error is connected to the journal (systemd sets JOURNAL_STREAM)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in stream.split(":"))
        stat = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (stat.st_dev, stat.st_ino) == (device, inode)


def configure_logging(
    process: str, log_dir: Path | None = None, level: int = logging.INFO
) -> Path | None:
    """Send this process's logging to stderr (or the journal) and, given a folder, to
    ``<log_dir>/<process>.log``; returns that file, or None when there is none. Replaces the
    handlers it added before, so calling it again (a Streamlit rerun, a test) never doubles
    lines, and leaves other handlers alone. A folder that cannot be written is logged, not
    fatal: a recorder never stops acquiring for want of a log file."""
    stderr = logging.StreamHandler()
    stderr.setFormatter(
        JournalFormatter(JOURNAL_FORMAT) if under_journal() else logging.Formatter(FILE_FORMAT)
    )
    handlers: list[logging.Handler] = [stderr]
    path, problem = None, ""
    if log_dir is not None:
        try:
            path = Path(log_dir) / f"{process}.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(_rotating_file(path))
        except OSError as exc:
            path, problem = None, f"cannot write logs to {log_dir}: {exc}; logging to stderr only"
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "chairside", False)]:
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.chairside = True
        handler.addFilter(ChairField())
        root.addHandler(handler)
    root.setLevel(level)
    if problem:
        logging.getLogger("chairside").warning(problem)
    return path


def _rotating_file(path: Path) -> logging.Handler:
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    return handler
