"""The recorder run in-process on a thread, stopped cleanly after each test; whole
processes (``python -m chairside ...``) killed after each test if still running."""

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chairside.recorder import Recorder
from tests.conftest import ROOT, chairside_command, child_env
from tests.service.receivers import Mailbox, Webhook
from vitals.chairs import Chair


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        child = subprocess.Popen(
            chairside_command(*args),
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(child)
        return child

    yield start
    for child in started:
        if child.poll() is None:
            child.send_signal(signal.SIGCONT)  # a test may have stopped it
            child.kill()
            child.wait()


def stop(child: subprocess.Popen) -> str:
    """SIGINT, as Ctrl-C: the process must end cleanly."""
    child.send_signal(signal.SIGINT)
    output, _ = child.communicate(timeout=30)
    assert child.returncode == 0, output
    return output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def connect(port: int, within_s: float = 15) -> socket.socket:
    """A sender's connection to a recorder that may still be starting to listen."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def nurse_ada(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``--by Nurse Ada`` with her credentials: a token she created."""
    from vitals.nurse_tokens import TOKEN_ENV, create_token
    from vitals.users import add_user

    users = tmp_path / "users.toml"
    add_user(users, "Nurse Ada", "correct horse")
    monkeypatch.setenv(TOKEN_ENV, create_token(users, "Nurse Ada", "correct horse"))
    return ["--by", "Nurse Ada", "--users", str(users)]
