"""``listen://host:port``: wait for a sender to connect, for protocols where the device or
gateway opens the TCP connection (HL7 senders usually do).

Only what the recorder uses of a pyserial port is provided: ``read`` with a timeout,
``in_waiting``, ``write`` and ``close``. One sender at a time, as on a serial line; a new
connection replaces the old one. When the sender hangs up, reads return nothing and the
recorder sees silence, exactly as with a quiet monitor.
"""

from __future__ import annotations

import contextlib
import select
import socket
from urllib.parse import urlsplit

from vitals.errors import PortUnavailable

SCHEME = "listen://"


class ListeningPort:
    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise PortUnavailable(f"cannot open port {url!r}: expected listen://host:port")
        self.url, self.timeout = url, timeout
        self._client: socket.socket | None = None
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._server.bind((parts.hostname, parts.port))
            self._server.listen(1)
        except OSError as exc:
            self._server.close()
            raise PortUnavailable(f"cannot open port {url!r}: {exc}") from None

    @property
    def in_waiting(self) -> int:
        """1 when a byte (or a new sender) waits, as pyserial's socket:// says; the recorder
        asks before judging silence, so a backlog is read, never mistaken for quiet."""
        watched = [self._server] + ([self._client] if self._client else [])
        ready, _, _ = select.select(watched, [], [], 0)
        return 1 if ready else 0

    def read(self, size: int = 1) -> bytes:
        watched = [self._server] + ([self._client] if self._client else [])
        ready, _, _ = select.select(watched, [], [], self.timeout)
        if self._server in ready:
            self._accept()
        if self._client is None or self._client not in ready:
            return b""
        try:
            data = self._client.recv(max(size, 65536))
        except OSError:
            data = b""
        if not data:
            self._drop()
        return data

    def write(self, data: bytes) -> int:
        if self._client is None:
            return 0  # nobody to answer: the sender will resend or reconnect
        try:
            self._client.sendall(data)
        except OSError:
            self._drop()
            return 0
        return len(data)

    def close(self) -> None:
        self._drop()
        self._server.close()

    def _accept(self) -> None:
        client, _ = self._server.accept()
        self._drop()
        self._client = client

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
            self._client = None
