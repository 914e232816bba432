"""Telling systemd how the recorder is doing (the sd_notify protocol): ready, alive, stopping.

A unit with ``Type=notify`` and ``WatchdogSec=`` gets NOTIFY_SOCKET, the address of an
AF_UNIX datagram socket (a leading ``@`` means Linux's abstract namespace), and WATCHDOG_USEC.
Each message is one datagram of ``KEY=value`` lines (sd_notify(3)). The recorder says
READY=1 once its workers run, WATCHDOG=1 after every heartbeat the store committed, and
STOPPING=1 on a clean stop; a recorder whose loop wedges (a store that never answers) stops
saying WATCHDOG=1, and systemd kills and restarts it. Outside systemd, and on Windows, which
has no AF_UNIX datagrams, every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("chairside.sdnotify")


class Notifier:
    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        pid = environ.get("WATCHDOG_PID", "")  # when set, the watchdog is for that process
        self._watchdog = bool(environ.get("WATCHDOG_USEC")) and pid in ("", str(os.getpid()))
        self._socket: socket.socket | None = None
        self._failed = False
        if address and hasattr(socket, "AF_UNIX"):
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def ready(self, status: str) -> None:
        self._send("READY=1", f"STATUS={status}")

    def alive(self) -> None:
        """The watchdog ping; sent only when the unit asked for a watchdog."""
        if self._watchdog:
            self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _send(self, *fields: str) -> None:
        if self._socket is None:
            return
        try:
            self._socket.sendto("\n".join(fields).encode(), self._address)
        except OSError as exc:
            if not self._failed:  # once: a ping a second must not flood the log
                log.error("cannot notify systemd at %s: %s", self._address, exc)
            self._failed = True
