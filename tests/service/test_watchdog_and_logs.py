"""The recorder under systemd: READY, a watchdog ping per committed heartbeat, STOPPING;
and its log: a level and a chair on every line, in a file beside the database or the journal."""

import logging
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chairside.sdnotify import Notifier
from tests.conftest import ROOT, chairside_command, child_env, wait_for
from vitals.logs import configure_logging, with_chair

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) chair=\S+ \S+: "
)
needs_unix_datagrams = pytest.mark.skipif(
    not hasattr(socket, "AF_UNIX"), reason="sd_notify is AF_UNIX datagrams (systemd hosts)"
)


def missing_port_config(tmp_path: Path) -> Path:
    config = tmp_path / "chairs.toml"
    config.write_text(
        f'[[chairs]]\nid = "chair-7"\nport = "{tmp_path / "ttyGONE"}"\nprotocol = "ge-s5"\n'
    )
    return config


def datagrams(server: socket.socket, until: float, enough: int = 10**6) -> list[str]:
    """What arrives until ``until``, or until ``enough`` datagrams came."""
    got: list[str] = []
    while time.monotonic() < until and len(got) < enough:
        try:
            got.append(server.recv(4096).decode())
        except TimeoutError:
            continue
    return got


@needs_unix_datagrams
def test_the_recorder_says_ready_pings_the_watchdog_and_says_stopping(tmp_path: Path) -> None:
    address = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(address))
    server.settimeout(0.2)
    env = {**child_env(), "NOTIFY_SOCKET": str(address), "WATCHDOG_USEC": "30000000"}
    config, db = missing_port_config(tmp_path), tmp_path / "c.db"
    child = subprocess.Popen(
        chairside_command("record", "--config", str(config), "--db", str(db)),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        first = datagrams(server, time.monotonic() + 60, enough=3)  # a loaded machine is slow
        child.terminate()
        child.wait(timeout=15)
        last = datagrams(server, time.monotonic() + 0.5)
    finally:
        server.close()
        if child.poll() is None:
            child.kill()
    assert first[0] == "READY=1\nSTATUS=recording 1 chairs"
    assert first[1:].count("WATCHDOG=1") >= 2  # one per heartbeat, a second apart
    assert "STOPPING=1\nSTATUS=stopping" in last
    assert child.returncode == 0


def test_without_systemd_or_with_another_watchdog_pid_nothing_is_sent() -> None:
    assert not Notifier({}).enabled
    quiet = Notifier({"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "1", "WATCHDOG_PID": "1"})
    quiet.alive()  # the watchdog is for pid 1, not us: no datagram, no error
    quiet.close()


@needs_unix_datagrams
def test_an_abstract_socket_address_is_used_as_linux_spells_it() -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"chairside-test-{os.getpid()}"
    server.bind("\0" + name)
    server.settimeout(2)
    notifier = Notifier({"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "1000000"})
    notifier.alive()
    assert server.recv(100) == b"WATCHDOG=1"
    notifier.close()
    server.close()


def test_the_recorder_log_names_the_chair_on_every_line(tmp_path: Path) -> None:
    config, db = missing_port_config(tmp_path), tmp_path / "data" / "c.db"
    child = subprocess.Popen(
        chairside_command("record", "--config", str(config), "--db", str(db)),
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = tmp_path / "data" / "logs" / "recorder.log"
    try:  # the stop handler is in place once the recorder says it records
        wait_for(
            lambda: log.exists() and "disconnected" in log.read_text(),
            timeout=60,
            what="the recorder to log the missing port",
        )
    finally:
        child.terminate()
    assert child.wait(timeout=15) == 0
    lines = log.read_text().splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines
    disconnected = [line for line in lines if "ge-s5 disconnected" in line]
    assert disconnected and all(" WARNING chair=chair-7 " in line for line in disconnected)
    assert any("INFO chair=- chairside.recorder: recorder stopped cleanly" in x for x in lines)


def test_log_lines_carry_the_chair_of_their_thread_or_of_extra(tmp_path: Path) -> None:
    path = configure_logging("unit", tmp_path)
    log = logging.getLogger("chairside.test")
    try:
        with_chair("chair-3", lambda: log.warning("port gone"))()
        log.info("about chair 5", extra={"chair": "chair-5"})
        log.info("about no chair")
    finally:
        configure_logging("unit")  # close the file handler
    lines = path.read_text().splitlines()
    assert [line.split(" ", 3)[3] for line in lines] == [
        "chair=chair-3 chairside.test: port gone",
        "chair=chair-5 chairside.test: about chair 5",
        "chair=- chairside.test: about no chair",
    ]


def test_under_the_journal_lines_carry_the_priority_instead_of_the_time(tmp_path: Path) -> None:
    """systemd sets JOURNAL_STREAM to the device:inode of the stderr it connected."""
    stderr = tmp_path / "stderr"
    program = (
        "import logging, os, sys\n"
        "st = os.fstat(2)\n"
        "os.environ['JOURNAL_STREAM'] = f'{st.st_dev}:{st.st_ino}'\n"
        "from vitals.logs import configure_logging, with_chair\n"
        "configure_logging('recorder')\n"
        "with_chair('chair-2', lambda: logging.getLogger('chairside.worker').warning('x'))()\n"
        "logging.getLogger('chairside.recorder').info('y')\n"
    )
    with stderr.open("w") as err:
        subprocess.run(
            [sys.executable, "-c", program], cwd=ROOT, env=child_env(), stderr=err, check=True
        )
    assert stderr.read_text().splitlines() == [
        "<4>WARNING chair=chair-2 chairside.worker: x",
        "<6>INFO chair=- chairside.recorder: y",
    ]


def test_an_unwritable_log_folder_is_said_and_not_fatal(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the log folder should be")
    try:
        assert configure_logging("recorder", blocker / "logs") is None
    finally:
        configure_logging("unit")
    assert "cannot write logs to" in caplog.text
