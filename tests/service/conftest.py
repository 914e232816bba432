"""The recorder run in-process on a thread, stopped cleanly after each test."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chairside.recorder import Recorder
from tests.service.receivers import Mailbox, Webhook
from vitals.chairs import Chair


@pytest.fixture
def run_recorder(db_path: Path):
    started: list[tuple[Recorder, threading.Thread]] = []

    def run(chairs: list[Chair]) -> Recorder:
        recorder = Recorder(chairs, db_path)
        thread = threading.Thread(target=recorder.run, kwargs={"install_signals": False})
        thread.start()
        started.append((recorder, thread))
        return recorder

    yield run
    for recorder, thread in started:
        recorder.stop()
        thread.join(timeout=15)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """A JSON webhook on loopback (alarm forwarding's phone stand-in)."""
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """An SMTP server on loopback (aiosmtpd, no TLS)."""
    box = Mailbox()
    yield box
    box.close()
