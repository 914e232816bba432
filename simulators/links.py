"""Virtual serial lines for simulated monitors: a real pseudo-terminal, or a TCP port.

A pty is what a USB-serial adapter looks like to the recorder (termios and all); its path is
published as a stable symlink, because a "vanished" port comes back as a new /dev/pts/N.
The TCP link serves one client on 127.0.0.1, for ``socket://`` URLs and for non-POSIX hosts.
Both write without blocking: a frame that cannot be written is reported as not sent.
"""

from __future__ import annotations

import abc
import contextlib
import os
import select
import socket
import time
from pathlib import Path


def ptys_work() -> bool:
    """True where a pseudo-terminal can be opened: POSIX, with /dev/ptmx usable (a container
    or a locked-down host may have neither)."""
    if not hasattr(os, "openpty"):
        return False
    try:
        master, slave = os.openpty()
    except OSError:
        return False
    os.close(master)
    os.close(slave)
    return True


def default_transport() -> str:
    """Pseudo-terminals where they work (what a USB-serial port looks like), else TCP."""
    return "pty" if ptys_work() else "socket"


class Link(abc.ABC):
    """One end of a virtual line, owned by the simulated monitor."""

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """What the recorder opens to reach this monitor."""

    @abc.abstractmethod
    def open(self) -> None: ...

    @abc.abstractmethod
    def close(self, drain: bool = False) -> None:
        """Take the line down; ``drain`` first lets the client read what was already sent."""

    @abc.abstractmethod
    def read(self, timeout: float) -> bytes:
        """Client bytes, or b"" after ``timeout`` seconds."""

    @abc.abstractmethod
    def write(self, data: bytes) -> bool:
        """Send ``data`` whole; False when the line cannot take it now (nothing was sent)."""


class PtyLink(Link):
    def __init__(self, symlink: Path) -> None:
        self.symlink = Path(symlink)
        self._master: int | None = None
        self._slave: int | None = None

    @property
    def url(self) -> str:
        return str(self.symlink)

    def open(self) -> None:
        import tty  # POSIX only

        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # bytes pass untouched: no echo, no CR/LF translation
        os.set_blocking(self._master, False)
        self.symlink.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.symlink.with_name(self.symlink.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(self._slave))
        tmp.replace(self.symlink)

    def close(self, drain: bool = False) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.symlink.unlink()
        if drain:
            self._drain()
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def _drain(self, timeout: float = 0.5) -> None:
        """Wait until the client has read the line's queue: closing a pty discards it."""
        import fcntl
        import struct
        import termios

        deadline = time.monotonic() + timeout
        while self._slave is not None and time.monotonic() < deadline:
            waiting = fcntl.ioctl(self._slave, termios.FIONREAD, b"\0\0\0\0")
            if struct.unpack("i", waiting)[0] == 0:
                return
            time.sleep(0.01)

    def read(self, timeout: float) -> bytes:
        if self._master is None:
            return b""
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            return b""

    def write(self, data: bytes) -> bool:
        if self._master is None:
            return False
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                if view.nbytes == len(data):
                    return False  # nothing went out: the client is not reading
                select.select([], [self._master], [], 1.0)  # finish a frame once started
                continue
            except OSError:
                return False
            view = view[written:]
        return True


class TcpLink(Link):
    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self._server: socket.socket | None = None
        self._client: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    def open(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((self.host, self.port))
        server.listen(1)
        server.setblocking(False)
        self.port = server.getsockname()[1]  # keep the port across vanish and return
        self._server = server

    def close(self, drain: bool = False) -> None:
        if drain and self._client is not None:
            with contextlib.suppress(OSError):
                self._client.shutdown(socket.SHUT_WR)  # a FIN after the data, not a reset
        for sock in (self._client, self._server):
            if sock is not None:
                sock.close()
        self._client = self._server = None

    def read(self, timeout: float) -> bytes:
        watched = [s for s in (self._server, self._client) if s is not None]
        if not watched:
            return b""
        ready, _, _ = select.select(watched, [], [], timeout)
        if self._server in ready:
            self._accept()
        if self._client is not None and self._client in ready:
            try:
                data = self._client.recv(4096)
            except OSError:
                data = b""
            if not data:
                self._drop_client()
            return data
        return b""

    def write(self, data: bytes) -> bool:
        if self._client is None:
            return False
        try:
            self._client.sendall(data)
        except OSError:
            self._drop_client()
            return False
        return True

    def _accept(self) -> None:
        client, _ = self._server.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._drop_client()  # one recorder per monitor, as on a serial line
        self._client = client

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
