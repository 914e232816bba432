"""Real receivers on loopback for alarm-forwarding tests: an HTTP webhook and an SMTP server.

Each records what arrived with its arrival time (wall clock, UTC), so a test can measure
from the offending reading to the message, and can be told to refuse (HTTP 503) to show a
failing channel.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


@dataclass
class Received:
    title: str
    body: str
    at: datetime
    path: str = ""


@dataclass
class Inbox:
    """What a receiver got, thread-safe; ``wait`` polls until enough arrived."""

    items: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Received) -> None:
        with self.lock:
            self.items.append(item)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.items)

    def wait(self, count: int = 1, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.snapshot()
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"expected {count} messages within {timeout} s, got {self.snapshot()}")


class Webhook:
    """apprise ``json://127.0.0.1:PORT/path`` posts {"title", "message", ...} here."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.refuse = False
        inbox, hook = self.inbox, self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                if hook.refuse:
                    self.send_response(503)
                    self.end_headers()
                    return
                at = datetime.now(UTC)
                inbox.add(
                    Received(payload.get("title", ""), payload.get("message", ""), at, self.path)
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "alarms") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _MailHandler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope) -> str:
        mail = message_from_bytes(envelope.content)
        part = mail.get_payload(0) if mail.is_multipart() else mail
        body = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        subject = str(make_header(decode_header(mail.get("Subject", ""))))
        self.inbox.add(Received(subject, body, datetime.now(UTC), ",".join(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    """aiosmtpd's controller connects to its own port to see it is up, so it needs a number."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """A local SMTP server (aiosmtpd, no TLS); apprise ``mailto://`` with ``mode=insecure``."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = _free_port()
        self.controller = Controller(_MailHandler(self.inbox), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str = "nurse@clinic.example") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=chairside@clinic.example&to={to}&mode=insecure"

    def close(self) -> None:
        self.controller.stop()
