"""What a running recorder holds alone: its database, and every port it reads.

Two recorders on one database (or one port) split each port's bytes between them: false
technical alarms, readings lost or stored twice. So a recorder takes an operating-system lock
on the database (``chairside.db.lock``) and one per port (in the machine's temporary folder,
``chairside-ports/``) before it opens anything, and a second one refuses to start with one
line naming the first. The OS drops the locks when the holder dies, however it dies.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vitals.chairs import Chair
from vitals.errors import RecorderRunning
from vitals.store.owner_lock import OwnerLock, db_lock_path

PORT_LOCK_DIR = "chairside-ports"
UNSHARED_SCHEMES = ("loop://",)  # every open is a line of its own: nothing to share


def port_lock_path(url: str) -> Path:
    """One lock file per port; a device path is resolved, so two names of one port meet."""
    if "://" not in url and os.path.exists(url):
        url = os.path.realpath(url)
    digest = hashlib.sha256(url.encode()).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / PORT_LOCK_DIR / f"{digest}.lock"


class Ownership:
    """The database lock (which also carries the recorder's status) and the port locks."""

    def __init__(self, db: Path, chairs: Sequence[Chair]) -> None:
        self.db = Path(db).resolve()
        self.owner: dict[str, Any] = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "db": str(self.db),
        }
        self.database = OwnerLock(db_lock_path(db), f"database {db}")
        ports = [d.port for c in chairs for d in c.devices]
        self.ports = [
            OwnerLock(port_lock_path(url), f"port {url}")
            for url in dict.fromkeys(ports)
            if not url.startswith(UNSHARED_SCHEMES)
        ]
        self._taken: list[OwnerLock] = []

    def take(self, started: float) -> None:
        """Every lock, or none and RecorderRunning naming the recorder that holds one."""
        self.owner["started"] = started
        try:
            for lock in [self.database, *self.ports]:
                lock.acquire(self.owner)
                self._taken.append(lock)
        except (RecorderRunning, OSError) as exc:
            self.release()
            if isinstance(exc, OSError):
                raise RecorderRunning(f"cannot take the recorder's lock: {exc}") from None
            raise

    def publish(self, status: dict[str, Any]) -> None:
        """The recorder's status beside the database, readable when the database is not."""
        self.database.publish(self.owner | status)

    def release(self, final: dict[str, Any] | None = None) -> None:
        for lock in reversed(self._taken):
            lock.release(self.owner | final if final and lock is self.database else None)
        self._taken = []
