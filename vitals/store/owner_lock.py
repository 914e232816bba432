"""One recorder per database (and per port): an operating-system lock that a crash releases.

The lock file sits beside what it guards (``chairside.db.lock``) and stays on disk; holding it
is what counts, through ``flock`` (POSIX) or ``msvcrt.locking`` (Windows). The operating
system drops the lock when the process ends however it ends, so a kill -9 never leaves a
stale lock for someone to clean up by hand.

The file also says who holds it (host, pid, since) and, rewritten every second, how the
recorder is doing, including when the database itself refuses writes. It is pre-filled to
``STATUS_BYTES`` and rewritten in place, so publishing needs no new disk blocks and still
works on a full disk, when nothing else can be written.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from vitals.errors import RecorderRunning

STATUS_BYTES = 4096
LOCK_OFFSET = 8192  # Windows locks a byte range: beyond the status, so readers never wait


def db_lock_path(db: Path) -> Path:
    return Path(db).with_name(Path(db).name + ".lock")


class OwnerLock:
    """An exclusive lock on ``path`` naming its holder; ``what`` names what it guards."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = Path(path), what
        self._fd: int | None = None

    def acquire(self, owner: dict[str, Any]) -> None:
        """Take the lock or raise RecorderRunning naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            holder = read_status(self.path)
            raise RecorderRunning(
                f"{self.what} is already in use by {describe(holder)}; stop that recorder "
                f"first (lock file {self.path})"
            ) from None
        self._fd = fd
        if os.fstat(fd).st_size < STATUS_BYTES:
            _write_at(fd, b" " * STATUS_BYTES)  # real blocks now, so later rewrites need none
        self.publish(owner)

    def publish(self, status: dict[str, Any]) -> bool:
        """Rewrite the status in place; False when even that failed (it is only a notice)."""
        if self._fd is None:
            return False
        data = json.dumps(status, default=str).encode()[:STATUS_BYTES]
        try:
            _write_at(self._fd, data.ljust(STATUS_BYTES))
        except OSError:
            return False
        return True

    def release(self, final: dict[str, Any] | None = None) -> None:
        if self._fd is None:
            return
        if final is not None:
            self.publish(final)
        with contextlib.suppress(OSError):
            os.close(self._fd)  # closing the descriptor drops the lock
        self._fd = None


def read_status(path: Path) -> dict[str, Any] | None:
    """What the holder last published, or None when there is no readable status."""
    try:
        text = Path(path).read_bytes()[:STATUS_BYTES].decode("utf-8", errors="replace").strip()
        found = json.loads(text) if text else None
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def describe(holder: dict[str, Any] | None) -> str:
    """'pid 4242 on clinic-pc since 2026-03-01 08:02:11' (local time), for one-line errors."""
    if not holder:
        return "another process"
    since = ""
    with contextlib.suppress(TypeError, ValueError):
        started = datetime.fromtimestamp(float(holder["started"]))
        since = f" since {started:%Y-%m-%d %H:%M:%S}"
    where = f" writing {holder['db']}" if holder.get("db") else ""
    return f"a recorder (pid {holder.get('pid')} on {holder.get('host')}{since}{where})"


def _write_at(fd: int, data: bytes) -> None:
    if hasattr(os, "pwrite"):
        os.pwrite(fd, data, 0)
    else:  # Windows
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)


def _lock(fd: int) -> None:
    """Non-blocking exclusive lock; OSError when another process holds it. The platform's
    own kind, chosen by what it has: flock where fcntl exists, else Windows' msvcrt."""
    try:
        import fcntl
    except ImportError:
        import msvcrt

        os.lseek(fd, LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
