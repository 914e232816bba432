"""``listen://host:port[?allow=ADDRESSES][&idle_s=S]``: wait for a sender to connect, for
protocols where the device or gateway opens the TCP connection (HL7 senders usually do).

Only what the recorder uses of a pyserial port is provided: ``read`` with a timeout,
``in_waiting``, ``write`` and ``close``. When the sender hangs up, reads return nothing and
the recorder sees silence, exactly as with a quiet monitor.

Senders are admitted, not assumed:

- ``allow`` lists the addresses and networks that may send (``10.0.0.5,10.0.1.0/24``); the
  default is this machine only (127.0.0.0/8 and ::1). Any other sender is refused at once.
- One sender at a time, as on a serial line: the current sender keeps the chair until it
  hangs up or has sent nothing for ``idle_s`` seconds (default 30); a second connection
  meanwhile is refused, so a client that only connects cannot cut a real monitor off.

Every refusal is logged with the address and counted on the chair's page (``counts``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import select
import socket
import time
from urllib.parse import parse_qs, urlsplit

from devices.base import AdapterCounts
from vitals.errors import PortUnavailable

SCHEME = "listen://"
LOOPBACK = "127.0.0.0/8,::1"
IDLE_S = 30.0
NOT_ALLOWED = "connection refused: sender not on the allow-list"
BUSY = "connection refused: another sender is connected"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
log = logging.getLogger("chairside.listen")


def allowed_networks(text: str, url: str) -> list[Network]:
    try:
        return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",")]
    except ValueError as exc:
        raise PortUnavailable(f"cannot open port {url!r}: bad allow list: {exc}") from None


class ListeningPort:
    def __init__(self, url: str, timeout: float, counts: AdapterCounts | None = None) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise PortUnavailable(f"cannot open port {url!r}: expected listen://host:port")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        self.allow = allowed_networks(query.pop("allow", LOOPBACK), url)
        self.idle_s = _idle(query.pop("idle_s", str(IDLE_S)), url)
        if query:
            raise PortUnavailable(f"cannot open port {url!r}: unknown options {sorted(query)}")
        self.url, self.timeout = url, timeout
        self.counts = counts or AdapterCounts()
        self._client: socket.socket | None = None
        self._heard_at = 0.0
        family = socket.AF_INET6 if ":" in parts.hostname else socket.AF_INET
        self._server = socket.socket(family, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._server.bind((parts.hostname, parts.port))
            self._server.listen(4)
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
        # The current sender first: a hang-up seen in the same round frees the chair. One that
        # just gave data may have hung up behind it (a gateway closing after its last
        # message and connecting again at once): the newcomer waits for the next round,
        # which reads that hang-up first, so it is not refused as "another sender".
        data = self._receive(size) if self._client is not None and self._client in ready else b""
        if self._server in ready and not (data and self._client is not None):
            self._accept()
        return data

    def _receive(self, size: int) -> bytes:
        try:
            data = self._client.recv(max(size, 65536))
        except OSError:
            data = b""
        if data:
            self._heard_at = time.monotonic()
        else:
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
        client, address = self._server.accept()
        refusal = self._refusal(address[0])
        if refusal:
            log.warning("%s: %s (%s)", self.url, refusal, address[0])
            self.counts.not_used(refusal)
            with contextlib.suppress(OSError):
                client.close()
            return
        self._drop()
        self._client, self._heard_at = client, time.monotonic()

    def _refusal(self, address: str) -> str:
        host = ipaddress.ip_address(address.split("%")[0])
        if host.version == 6 and host.ipv4_mapped:
            host = host.ipv4_mapped
        if not any(host.version == net.version and host in net for net in self.allow):
            return NOT_ALLOWED
        if self._client is not None and time.monotonic() - self._heard_at < self.idle_s:
            return BUSY
        return ""

    def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
            self._client = None


def _idle(text: str, url: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise PortUnavailable(f"cannot open port {url!r}: idle_s must be seconds > 0, got {text!r}")
    return value
