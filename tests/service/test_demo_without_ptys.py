"""No make, no pseudo-terminals: the demo's whole path over TCP links, as on a Windows PC."""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from simulators import links
from simulators.fleet import FleetSpec
from tests.conftest import chairside_command, child_env, query, wait_for
from tests.service.test_watchdog_and_logs import LINE

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fresh_readings(db: Path, since_us: int) -> dict[str, int]:
    try:
        rows = query(
            db,
            "SELECT chair, count(*) FROM readings_full WHERE t_us > ? GROUP BY chair",
            (since_us,),
        )
    except Exception:  # the recorder has not created the schema yet
        return {}
    return dict(rows)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.read() == b"ok"
    except OSError:
        return False


def test_the_demo_runs_whole_over_tcp_links_from_outside_the_checkout(tmp_path: Path) -> None:
    port, db, run = free_port(), tmp_path / "data" / "demo.db", tmp_path / "run"
    started_us = time.time_ns() // 1000
    demo = subprocess.Popen(
        chairside_command(
            "demo",
            "--links",
            "tcp",
            "--chairs",
            "2",
            "--speed",
            "60",
            "--port",
            str(port),
            "--db",
            str(db),
            "--run-dir",
            str(run),
            "--users",
            str(tmp_path / "none.toml"),
        ),
        cwd=tmp_path,  # not the checkout: nothing may depend on the working directory
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    try:
        wait_for(
            lambda: (
                len(fresh_readings(db, started_us)) == 2
                and min(fresh_readings(db, started_us).values()) > 20
            ),
            timeout=60,
            what="live readings from both chairs",
        )
        wait_for(lambda: healthy(port), timeout=60, what="the dashboard to answer")
        ports = [
            p for (p,) in query(db, "SELECT port FROM chairs WHERE chair IN ('chair-1', 'chair-2')")
        ]
        assert ports and all(p.startswith("socket://127.0.0.1:") for p in ports), ports
        assert not list(run.glob("*.tty"))
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C: every process of the group at once
        output, _ = demo.communicate(timeout=40)
    assert demo.returncode == 0, output
    assert "Traceback" not in output, output
    assert "sign in as 'Demo Nurse'" in output
    assert query(db, "SELECT count(*) FROM sessions_v WHERE ended_utc IS NULL") == [(0,)]
    logs = tmp_path / "data" / "logs"
    for process in ("recorder", "simulator"):
        lines = (logs / f"{process}.log").read_text().splitlines()
        assert lines and all(LINE.match(line) for line in lines), (process, lines[:5])
    recorder = (logs / "recorder.log").read_text()
    assert "chair=chair-1 chairside.worker: ge-s5 connected" in recorder


def test_without_pseudo_terminals_the_simulator_chooses_tcp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_ptys() -> tuple[int, int]:
        raise OSError("out of pty devices")

    monkeypatch.setattr(os, "openpty", no_ptys)
    assert not links.ptys_work()
    assert FleetSpec(1, ["typical"]).transport == "socket"
    monkeypatch.delattr(os, "openpty")  # Windows has none at all
    assert links.default_transport() == "socket"
