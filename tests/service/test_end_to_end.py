"""Whole processes, as in production: `simulate` on real ptys -> `record` -> the store."""

import csv
import shutil
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import query, wait_for
from tests.service.conftest import stop

pytestmark = pytest.mark.slow


def simulate(start, tmp: Path, *extra: str) -> tuple[Path, subprocess.Popen]:
    config = tmp / "chairs.toml"
    simulator = start(
        "simulate",
        "--chairs",
        "2",
        "--scenario",
        "typical,hypertensive",
        "--speed",
        "60",
        "--seed",
        "11",
        "--config",
        str(config),
        "--run-dir",
        str(tmp / "run"),
        "--db",
        str(tmp / "c.db"),
        *extra,
    )
    wait_for(config.exists, what="the simulator's chair config")
    return config, simulator


def stored(db: Path) -> int:
    """Rows committed so far; 0 while the recorder has not yet created the schema."""
    try:
        return query(db, "SELECT count(*) FROM readings")[0][0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.parametrize(
    ("protocol", "transport"),
    [
        ("ge-s5", "pty"),
        ("masimo-ascii", "pty"),
        ("hl7-mllp", "socket"),
        ("intellivue", "pty"),
        ("ge-s5,masimo-ascii", "pty"),  # two devices on every chair
    ],
)
def test_every_sent_reading_is_stored_exactly_once(
    processes, tmp_path: Path, protocol: str, transport: str
) -> None:
    truth, db = tmp_path / "truth.csv", tmp_path / "c.db"
    extra = ("--truth", str(truth), "--protocol", protocol, "--transport", transport)
    config, simulator = simulate(processes, tmp_path, *extra)
    recorder = processes("record", "--config", str(config), "--db", str(db))
    # A polled monitor answers at the recorder's pace, not the simulation's: fewer suffice.
    enough = 80 if protocol == "intellivue" else 150
    wait_for(lambda: stored(db) > enough, timeout=30, what="readings in the store")
    # Stop the monitors first, let the recorder drain the line, then stop the recorder.
    stop(simulator)
    time.sleep(1.0)
    stop(recorder)
    rows = list(csv.DictReader(truth.open()))
    sent = Counter((r["chair"], r["param"], _value(r["value"])) for r in rows)
    got = Counter(query(db, "SELECT chair, param, value FROM readings_full"))
    assert sum(sent.values()) > enough
    if protocol in ("ge-s5", "intellivue"):  # silent until asked: everything sent is stored
        assert got == sent
    else:
        # An oximeter or a gateway sends on its own; what it sent before the recorder
        # opened the port went nowhere. Everything stored was sent, and everything sent
        # after the first stored reading of a chair is stored, exactly once.
        assert not got - sent
        first = dict(query(db, "SELECT chair, min(time_utc) FROM readings_v GROUP BY chair"))
        later = Counter(
            (r["chair"], r["param"], _value(r["value"]))
            for r in rows
            if r["sent_utc"] > first[r["chair"]]
        )
        assert not later - got
    carried = {
        "ge-s5": {"hr", "pulse", "spo2", "sbp", "dbp", "map"},
        "masimo-ascii": {"pulse", "spo2"},
        "hl7-mllp": {"hr", "pulse", "spo2", "sbp", "dbp", "map"},
        "intellivue": {"hr", "pulse", "spo2", "sbp", "dbp", "map"},
        "ge-s5,masimo-ascii": {"hr", "pulse", "spo2", "sbp", "dbp", "map"},
    }
    assert {r[0] for r in query(db, "SELECT param FROM readings_v")} == carried[protocol]
    devices = protocol.split(",")
    assert {r[0] for r in query(db, "SELECT DISTINCT source FROM readings_full")} == set(devices)
    states = query(db, "SELECT chair, device FROM device_state ORDER BY chair, device")
    expected = [""] if len(devices) == 1 else sorted(devices)
    assert states == [(c, d) for c in ("chair-1", "chair-2") for d in expected]


def _value(text: str) -> float | None:
    return None if text == "" else float(text)


def test_kill_9_loses_nothing_committed_and_duplicates_nothing(processes, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    config, _ = simulate(processes, tmp_path)
    recorder = processes("record", "--config", str(config), "--db", str(db))
    wait_for(lambda: stored(db) > 100, timeout=30, what="readings before the kill")
    recorder.send_signal(signal.SIGKILL)
    recorder.wait()
    committed = query(db, "SELECT chair, t_us, seq, param, value FROM readings_full")
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    recorder = processes("record", "--config", str(config), "--db", str(db))
    wait_for(lambda: stored(db) > len(committed) + 100, timeout=30, what="readings after restart")
    stop(recorder)
    after = query(db, "SELECT chair, t_us, seq, param, value FROM readings_full")
    assert set(committed) <= set(after)
    keys = query(
        db, "SELECT chair, param, device_us FROM readings_full WHERE param IN ('hr','spo2','pulse')"
    )
    assert len(keys) == len(set(keys)), "a continuous reading was stored twice"
    for chair in ("chair-1", "chair-2"):
        sbp = [
            v
            for (v,) in query(
                db,
                "SELECT value FROM readings_full WHERE chair=? AND param='sbp' ORDER BY t_us",
                (chair,),
            )
        ]
        assert all(a != b for a, b in pairwise(sbp)), "an NIBP result was stored twice"


def test_a_backup_taken_mid_recording_restores_every_committed_row(
    processes, tmp_path: Path
) -> None:
    """The clinic's PC dies during a session: the nightly copy, taken while the recorder
    wrote, is put in place and holds every row committed before it began, chain intact."""
    db, out = tmp_path / "c.db", tmp_path / "backups"
    config, _ = simulate(processes, tmp_path)
    recorder = processes("record", "--config", str(config), "--db", str(db))
    wait_for(lambda: stored(db) > 100, timeout=30, what="readings before the backup")
    tables = {"readings_full": "chair, t_us, param, value, seq", "sessions": "*", "events": "*"}
    committed = {t: query(db, f"SELECT {cols} FROM {t}") for t, cols in tables.items()}
    backup = processes("backup", "--db", str(db), "--out", str(out))
    assert backup.wait(timeout=30) == 0, backup.stdout.read()
    wait_for(lambda: stored(db) > len(committed["readings_full"]) + 50, what="recording goes on")
    stop(recorder)
    [copy] = out.glob("c-*.db")
    restored = tmp_path / "restored.db"
    shutil.copyfile(copy, restored)  # the restore: the copy in place of the lost database
    for table, cols in tables.items():
        assert set(committed[table]) <= set(query(restored, f"SELECT {cols} FROM {table}"))
    assert committed["sessions"], "the simulator's sessions were open while it was copied"
    checked = processes("verify", "--db", str(restored), "--against", str(db))
    assert checked.wait(timeout=30) == 0, checked.stdout.read()
    assert "record verified" in checked.stdout.read()
