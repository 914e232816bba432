"""The fault matrix, end to end: real recorder processes, real pseudo-terminals and sockets, real
files and a real small filesystem. Each test injects one fault and checks what is kept
(against the simulator's truth log), what the page shows and what is alarmed.

Each prints a ``FAULT`` line: readings sent, stored, lost, and seconds from the fault until
the page (the overview's own model over the store it reads) showed the chair without current
data. The README's reliability section lists the matrix.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from dashboard.overview_model import build_tiles
from devices.hl7_mllp import frame
from tests.conftest import ROOT, chairside_command, child_env, query, wait_for
from tests.service.conftest import connect, free_port, stop
from vitals.store import connect_readonly
from vitals.store.owner_lock import db_lock_path, read_status

pytestmark = pytest.mark.slow


def stored(db: Path) -> int:
    try:
        return query(db, "SELECT count(*) FROM readings")[0][0]
    except sqlite3.Error:
        return 0


def simulate(start, tmp: Path, db: Path, *extra: str) -> tuple[Path, subprocess.Popen]:
    config = tmp / "chairs.toml"
    simulator = start(
        "simulate",
        "--chairs",
        "1",
        "--speed",
        "60",
        "--seed",
        "3",
        "--config",
        str(config),
        "--run-dir",
        str(tmp / "run"),
        "--db",
        str(db),
        "--no-sessions",
        "--truth",
        str(tmp / "truth.csv"),
        *extra,
    )
    wait_for(config.exists, timeout=60, what="the simulator's chair config")
    return config, simulator


def page_blind(db: Path) -> bool:
    """What the overview shows: is any chair's tile 'no current data'?"""
    try:
        conn = connect_readonly(db)
    except Exception:
        return True  # the page cannot even read the store: it says so
    try:
        return any(t.status == "nodata" for t in build_tiles(conn, pd.Timestamp.now(tz="UTC")))
    except sqlite3.Error:
        return True
    finally:
        conn.close()


def seconds_until(condition, timeout: float = 30) -> float:
    began = time.monotonic()
    wait_for(condition, timeout=timeout, what="the alarm on the page")
    return time.monotonic() - began


def kept_against_truth(tmp: Path, db: Path) -> tuple[int, int, int]:
    """(sent, stored, lost): every reading put on the wire from the moment the recorder first
    stored one (what came before went to a port nobody had opened yet), against the store."""
    first = query(db, "SELECT min(time_utc) FROM readings_v")[0][0] or ""
    rows = [r for r in csv.DictReader((tmp / "truth.csv").open()) if r["sent_utc"] >= first]
    sent = Counter((r["chair"], r["param"], _value(r["value"])) for r in rows)
    got = Counter(query(db, "SELECT chair, param, value FROM readings_full"))
    return sum(sent.values()), sum(got.values()), sum((sent - got).values())


def _value(text: str) -> float | None:
    return None if text == "" else float(text)


def report(fault: str, sent: int, kept: int, lost: int, alarm_s: float | None) -> None:
    shown = "—" if alarm_s is None else f"{alarm_s:.1f} s"
    print(f"\nFAULT {fault}: sent {sent}, stored {kept}, lost {lost}, alarm on the page {shown}")


def finish(simulator, recorder, tmp: Path, db: Path) -> tuple[int, int, int]:
    stop(simulator)
    time.sleep(1.0)  # the recorder drains the line
    stop(recorder)
    return kept_against_truth(tmp, db)


# -- the store refuses writes ------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 4 MiB filesystem (tmpfs) that the test fills and frees again."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip()})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Take every free byte. Unbuffered: a buffered file's close flushes whatever its failed
    writes left in the buffer, and raised ENOSPC outside the loop (once in CI, with the
    recorder growing the database on the same filesystem meanwhile)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)  # a partial write returns its count; the next fails
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_disk_full_keeps_acquiring_spools_and_writes_everything_back(
    processes, tmp_path: Path, small_disk: Path
) -> None:
    db = small_disk / "c.db"
    config, simulator = simulate(processes, tmp_path, db)
    recorder = processes(
        "record", "--config", str(config), "--db", str(db), "--spool", str(tmp_path / "spool")
    )
    wait_for(lambda: stored(db) > 30, timeout=30, what="readings before the disk fills")
    filler = fill(small_disk)
    alarm_s = seconds_until(lambda: page_blind(db))
    status = wait_for(
        lambda: (read_status(db_lock_path(db)) or {}).get("store"), what="the refusal published"
    )
    assert "full" in status["reason"]
    time.sleep(2)
    assert recorder.poll() is None  # it did not exit
    filler.unlink()  # space returns: no restart, no human
    wait_for(lambda: not page_blind(db), timeout=30, what="current data again")
    sent, kept, lost = finish(simulator, recorder, tmp_path, db)
    report("disk full (tmpfs)", sent, kept, lost, alarm_s)
    assert lost == 0
    refused = query(db, "SELECT count(*), min(ended_us) FROM episodes WHERE rule = 'store-refused'")
    assert refused[0][0] == 1 and refused[0][1] is not None  # alarmed on the chair, then ended


def test_a_database_locked_by_another_process_is_survived(processes, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    config, simulator = simulate(processes, tmp_path, db)
    recorder = processes("record", "--config", str(config), "--db", str(db))
    wait_for(lambda: stored(db) > 30, timeout=30, what="readings before the lock")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(8)\n"
            "c.execute('COMMIT')",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    alarm_s = seconds_until(lambda: page_blind(db))
    holder.wait(timeout=20)
    assert recorder.poll() is None
    wait_for(lambda: not page_blind(db), timeout=30, what="current data again")
    sent, kept, lost = finish(simulator, recorder, tmp_path, db)
    report("database locked 8 s by another process", sent, kept, lost, alarm_s)
    assert lost == 0
    assert query(db, "SELECT count(*) FROM episodes WHERE rule = 'store-refused'") == [(1,)]


def test_the_database_file_deleted_while_recording_is_written_back(
    processes, tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    config, simulator = simulate(processes, tmp_path, db)
    recorder = processes("record", "--config", str(config), "--db", str(db))
    wait_for(lambda: stored(db) > 30, timeout=30, what="readings before the deletion")
    db.unlink()
    wait_for(db.exists, what="the database written back")
    wait_for(
        lambda: query(db, "SELECT reason FROM episodes WHERE rule = 'store-file'"),
        what="the deletion alarmed",
    )
    sent, kept, lost = finish(simulator, recorder, tmp_path, db)
    report("database file deleted", sent, kept, lost, None)
    assert lost == 0
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


# -- one recorder --------------------------------------------------------------------------


def test_a_second_recorder_refuses_to_start_naming_the_first(processes, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    config, _ = simulate(processes, tmp_path, db)
    first = processes("record", "--config", str(config), "--db", str(db))
    wait_for(lambda: stored(db) > 5, timeout=30, what="the first recorder's readings")
    second = processes("record", "--config", str(config), "--db", str(db))
    output, _ = second.communicate(timeout=30)
    assert second.returncode == 1
    [line] = output.strip().splitlines()
    assert line.startswith(f"chairside: error: database {db} is already in use by a recorder")
    assert f"pid {first.pid} on {socket.gethostname()}" in line
    other_db = processes("record", "--config", str(config), "--db", str(tmp_path / "other.db"))
    output, _ = other_db.communicate(timeout=30)
    assert other_db.returncode == 1 and "port " in output and f"pid {first.pid}" in output
    first.kill()  # a crash releases the lock: the next one starts
    first.wait()
    third = processes("record", "--config", str(config), "--db", str(db))
    wait_for(
        lambda: query(db, "SELECT pid FROM heartbeat") == [(third.pid,)] and third.poll() is None,
        timeout=60,
        what="the next recorder writing",
    )
    stop(third)


# -- freezes and restarts ------------------------------------------------------------------


def test_a_frozen_recorder_reads_the_backlog_and_records_the_freeze(
    processes, tmp_path: Path
) -> None:
    db = tmp_path / "c.db"
    config, simulator = simulate(processes, tmp_path, db)
    recorder = processes("record", "--config", str(config), "--db", str(db))
    wait_for(lambda: stored(db) > 30, timeout=30, what="readings before the freeze")
    recorder.send_signal(signal.SIGSTOP)
    alarm_s = seconds_until(lambda: page_blind(db))
    time.sleep(max(0.0, 7 - alarm_s))
    recorder.send_signal(signal.SIGCONT)
    wait_for(
        lambda: query(db, "SELECT reason FROM episodes WHERE rule = 'recorder-downtime'"),
        what="the freeze recorded",
    )
    sent, kept, lost = finish(simulator, recorder, tmp_path, db)
    report("recorder frozen 7 s (SIGSTOP)", sent, kept, lost, alarm_s)
    assert lost == 0  # what the port buffered meanwhile was read, not flushed
    [(reason,)] = query(db, "SELECT reason FROM episodes WHERE rule = 'recorder-downtime'")
    assert "frozen" in reason
    assert query(db, "SELECT count(*) FROM episodes WHERE rule = 'no-data'") == [(0,)]


def test_a_kill_9_and_a_quick_restart_leave_a_downtime_trace(processes, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    config, simulator = simulate(processes, tmp_path, db)
    recorder = processes("record", "--config", str(config), "--db", str(db))
    wait_for(lambda: stored(db) > 30, timeout=30, what="readings before the kill")
    recorder.kill()
    recorder.wait()
    alarm_s = seconds_until(lambda: page_blind(db))
    recorder = processes("record", "--config", str(config), "--db", str(db))
    [(reason,)] = wait_for(
        lambda: query(db, "SELECT reason FROM episodes WHERE rule = 'recorder-downtime'"),
        timeout=60,
        what="the downtime recorded",
    )
    assert "crash or kill" in reason
    sent, kept, lost = finish(simulator, recorder, tmp_path, db)
    report("kill -9, restarted at once", sent, kept, lost, alarm_s)


# -- HL7: ACK means stored, device time judged ------------------------------------------------


def hl7_chair(tmp: Path, port: int) -> Path:
    config = tmp / "hl7.toml"
    config.write_text(
        f'[[chairs]]\nid = "gw"\nname = "Gateway chair"\nport = "listen://127.0.0.1:{port}"\n'
        'protocol = "hl7-mllp"\n'
    )
    return config


def send(port: int, message: str) -> str:
    with connect(port) as sender:
        sender.sendall(frame(message))
        reply = b""
        while not reply.endswith(b"\x1c\r"):
            reply += sender.recv(4096)
    return reply.decode()


def oru(number: int, hr: int, observed: str) -> str:
    return (
        f"MSH|^~\\&|GW|ICU|CS|CLINIC|{observed}||ORU^R01|M{number}|P|2.5\r"
        f"OBX|1|NM|8867-4^HR^LN||{hr}|/min|||||F|||{observed}\r"
    )


def test_hl7_a_poison_time_a_stopped_clock_and_acks_that_mean_stored(
    processes, tmp_path: Path
) -> None:
    db, port = tmp_path / "c.db", free_port()
    recorder = processes("record", "--config", str(hl7_chair(tmp_path, port)), "--db", str(db))
    assert "MSA|AA|M0" in send(port, oru(0, 70, "99991231235959-2359"))  # once killed a worker
    now = pd.Timestamp.now(tz="UTC").strftime("%Y%m%d%H%M%S+0000")
    for n, hr in enumerate(range(71, 80), start=1):  # a clock standing still
        assert f"MSA|AA|M{n}" in send(port, oru(n, hr, now))
    assert "MSA|AA|M9" in send(port, oru(9, 79, now))  # a true resend, answered, stored once
    assert "MSA|AA|M10" in send(port, oru(10, 80, "20991231120000+0000"))  # a wrong year
    values = [v for (v,) in query(db, "SELECT value FROM readings_full ORDER BY t_us, seq")]
    assert values == [70.0, *range(71, 80), 80.0]
    assert query(db, "SELECT device_us FROM readings_full WHERE value = 80") == [(None,)]
    [(reason,)] = query(db, "SELECT reason FROM episodes WHERE rule = 'device-clock'")
    assert "ahead of the recorder's" in reason
    assert query(db, "SELECT state FROM device_state") == [("connected",)]
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the store refuses: the sender is told to resend
    try:
        assert "MSA|AR|M11" in send(port, oru(11, 81, now))
    finally:
        holder.execute("COMMIT")
        holder.close()
    # the sender resends until it is told the message is stored, as MLLP senders do
    wait_for(lambda: "MSA|AA|M11" in send(port, oru(11, 81, now)), what="AA for the resend")
    assert query(db, "SELECT count(*) FROM readings WHERE value = 81") == [(1,)]
    stop(recorder)
    report("HL7 poison time, stopped clock, store refusing", 13, len(values) + 1, 0, None)


# -- the link ------------------------------------------------------------------------------


def test_an_unreachable_port_is_one_episode_with_its_attempts_counted(
    processes, tmp_path: Path
) -> None:
    db, port = tmp_path / "c.db", free_port()
    config = tmp_path / "c.toml"
    config.write_text(
        f'[[chairs]]\nid = "s"\nport = "socket://127.0.0.1:{port}"\nprotocol = "ge-s5"\n'
        "dropout_debounce_s = 1\n"
    )
    recorder = processes("record", "--config", str(config), "--db", str(db))
    alarm_s = seconds_until(lambda: page_blind(db))
    time.sleep(7.5)
    stop(recorder)
    [(rule, reason)] = query(db, "SELECT rule, reason FROM episodes WHERE kind = 'technical'")
    assert rule == "device-disconnected" and "reconnect attempts" in reason
    attempts = int(reason.split("; ")[-1].split()[0].removesuffix(")"))
    assert attempts >= 3
    report("unreachable socket:// port", 0, 0, 0, alarm_s)


def test_a_port_that_accepts_and_drops_is_one_outage_not_a_flood(tmp_path: Path) -> None:
    """A serial server that takes the connection and closes it at once: before, a new
    'disconnected' warning every ~0.3 s; now one episode for the outage."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    config = tmp_path / "c.toml"
    config.write_text(
        f'[[chairs]]\nid = "s"\nport = "socket://127.0.0.1:{port}"\nprotocol = "ge-s5"\n'
        "dropout_debounce_s = 1\n"
    )
    db = tmp_path / "c.db"
    recorder = subprocess.Popen(
        chairside_command("record", "--config", str(config), "--db", str(db)),
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server.settimeout(0.2)
        deadline = time.monotonic() + 7.5
        while time.monotonic() < deadline:
            try:
                client, _ = server.accept()
                client.close()
            except TimeoutError:
                pass
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=30)
        server.close()
    episodes = query(db, "SELECT rule FROM episodes WHERE kind = 'technical'")
    assert len(episodes) == 1, episodes
    [(reconnects,)] = query(db, "SELECT reconnects FROM device_state")
    assert reconnects >= 3


def test_recorder_and_dashboard_processes_use_the_same_lock_status(tmp_path: Path) -> None:
    """The status beside the database is plain JSON a page (or a person) can read."""
    assert read_status(tmp_path / "none.lock") is None
    (tmp_path / "x.lock").write_text('{"pid": 1, "host": "h"}' + " " * 100)
    assert read_status(tmp_path / "x.lock") == {"pid": 1, "host": "h"}
    assert os.path.basename(db_lock_path(tmp_path / "c.db")) == "c.db.lock"
