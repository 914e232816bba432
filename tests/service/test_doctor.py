"""`chairside doctor`: one line per check with what to do, on a clinic set up right and on the
mistakes clinics make; and the support bundle, which carries no secrets."""

import gzip
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from chairside import cli_admin, doctor_host
from chairside.cli import main
from simulators.sample_clinic import SAMPLE_DB
from tests.conftest import wait_for
from vitals.chairs import dump_chairs
from vitals.store import StoreWriter
from vitals.store.backup import backup_store
from vitals.users import add_user


@pytest.fixture(autouse=True)
def no_installed_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine's own units (if any) must not leak into the tests."""
    monkeypatch.setattr(cli_admin, "installed_options", lambda: {})


@pytest.fixture
def dashboard_port():
    """A stand-in for Streamlit's health endpoint on a free port."""

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok" if self.path == "/_stcore/health" else b"?")

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def clinic(tmp_path: Path, start_fleet, run_recorder, db_path: Path, dashboard_port: int):
    """Two simulated chairs, a running recorder, a nurse, a backup: a clinic set up right."""
    fleet = start_fleet(chairs=2, speed=60)
    config = tmp_path / "chairs.toml"
    config.write_text(dump_chairs(fleet.chairs))
    users = tmp_path / "users.toml"
    add_user(users, "Nurse Ada", "lovelace")
    recorder = run_recorder(fleet.chairs)
    wait_for(lambda: all(w.readings_stored for w in recorder.workers), what="readings")
    backup_store(db_path, db_path.parent / "backups")
    argv = ["doctor", "--config", str(config), "--db", str(db_path), "--users", str(users)]
    return [*argv, "--port", str(dashboard_port)], recorder, fleet


def doctor(argv: list[str], capsys) -> tuple[int, dict[str, str]]:
    """Exit status, and subject → line."""
    status = main(argv)
    lines = capsys.readouterr().out.strip().splitlines()
    found = {}
    for line in lines:
        subject = line[6:].split(": ", 1)[0]
        found[subject if subject not in found else f"{subject} (2)"] = line
    return status, found


def test_a_clinic_set_up_right_is_all_ok(clinic, capsys, monkeypatch) -> None:
    monkeypatch.setattr(doctor_host, "zone_name", lambda: "Europe/Vienna")
    argv, _, fleet = clinic
    status, lines = doctor(argv, capsys)
    wrong = [line for line in lines.values() if not line.startswith("OK")]
    assert status == 0 and wrong in ([], [lines.get("clock", "")]), wrong
    for chair in fleet.chairs:
        line = lines[f"port {chair.id} {chair.port}"]
        assert "the recorder has it open, connected" in line, line
    assert "running (pid" in lines["recorder"]
    assert "up to date" in lines["schema"]
    assert "1 nurse(s) may sign in" in lines["users"]
    assert "answers at http://127.0.0.1:" in lines["dashboard"]
    assert "1 in " in lines["backups"]


def test_the_mistakes_clinics_make_each_get_a_line_saying_what_to_do(
    clinic, capsys, tmp_path: Path
) -> None:
    argv, recorder, fleet = clinic
    recorder.stop()
    wait_for(lambda: recorder.writer._closed, what="the recorder to stop")
    users = Path(argv[argv.index("--users") + 1])
    users.chmod(0o644)
    (tmp_path / "chairs.toml").write_text(
        dump_chairs(fleet.chairs)
        + '[[chairs]]\nid = "chair-9"\nport = "/dev/ttyUSB_nowhere"\nprotocol = "ge-s5"\n'
    )
    held = fleet.chairs[1].port
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import time; f = open({held!r}, 'rb'); time.sleep(60)"]
    )
    try:
        wait_for(lambda: _holds(holder.pid, held), what="the other program to hold the port")
        status, lines = doctor([*argv[:-1], "1"], capsys)  # nothing serves port 1
    finally:
        holder.kill()
        holder.wait()
    assert status == 1
    assert lines["recorder"].startswith("FAIL  recorder: not running: last heartbeat")
    assert "it stopped cleanly" in lines["recorder"] and "systemctl start" in lines["recorder"]
    first = lines[f"port chair-1 {fleet.chairs[0].port}"]
    assert first.startswith("OK") and "no program holds it, and it opens" in first
    taken = lines[f"port chair-2 {held}"]
    assert taken.startswith("FAIL") and f"held by another program: pid {holder.pid}" in taken
    missing = lines["port chair-9 /dev/ttyUSB_nowhere"]
    assert "does not exist — plug in the USB-serial adapter" in missing
    assert "readable by other accounts (mode 644) — `chmod 600" in lines["users (2)"]
    assert lines["dashboard"].startswith("FAIL  dashboard: nothing answers at")


def _holds(pid: int, device: str) -> bool:
    target = os.path.realpath(device)
    fds = Path(f"/proc/{pid}/fd")
    return any(os.readlink(fd) == target for fd in fds.iterdir()) if fds.exists() else False


def test_store_problems(tmp_path: Path, capsys) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "Nurse Ada", "lovelace")
    base = ["doctor", "--users", str(users), "--port", "1"]
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    _, lines = doctor([*base, "--db", str(garbage)], capsys)
    assert "is not a readable Chairside database" in lines["database"]
    assert "restore the newest backup" in lines["database"]
    _, lines = doctor([*base, "--db", str(tmp_path / "none.db")], capsys)
    assert (
        lines["database"].startswith("FAIL  database:")
        and "start the recorder" in (lines["database"])
    )
    old = tmp_path / "old.db"
    history = sorted((SAMPLE_DB.parent / "history").glob("*.db.gz"))[0]
    with gzip.open(history) as src, old.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    _, lines = doctor([*base, "--db", str(old)], capsys)
    assert lines["schema"].startswith("WARN  schema: older (m001_readings_and_devices)")
    assert "backs the store up and migrates it" in lines["schema"]
    assert "chair config" in lines and "recorder" in lines
    assert lines["backups"].startswith("WARN  backups: none in")


def test_a_missing_users_file_and_a_utc_clock(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(doctor_host, "zone_name", lambda: "Etc/UTC")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        StoreWriter(tmp_path / "c.db").close()
        argv = ["doctor", "--db", str(tmp_path / "c.db"), "--users", str(tmp_path / "u.toml")]
        _, lines = doctor([*argv, "--port", "1"], capsys)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert lines["users"].startswith("FAIL  users: no users file at")
    assert lines["time zone"].startswith("WARN  time zone: Etc/UTC (UTC+00:00)")
    assert "set-timezone" in lines["time zone"]


def test_the_support_bundle_holds_what_support_needs_and_no_secret(tmp_path: Path, capsys) -> None:
    db = tmp_path / "data" / "c.db"
    writer = StoreWriter(db)
    writer.close()
    logs = tmp_path / "data" / "logs"
    logs.mkdir()
    (logs / "recorder.log").write_text("2026-10-05 09:00:00,000 INFO chair=chair-1 x: y\n")
    (logs / "recorder.log.1").write_text("older\n")
    config = tmp_path / "chairs.toml"
    config.write_text(
        '[[chairs]]\nid = "chair-1"\nport = "socket://nurse:hunter2@127.0.0.1:9"\n'
        'protocol = "hl7-mllp"\n[chairs.options]\nshared_secret = "hunter2"\n'
    )
    users = tmp_path / "users.toml"
    add_user(users, "Nurse Ada", "lovelace")
    bundle = tmp_path / "support.zip"
    argv = ["doctor", "--db", str(db), "--config", str(config), "--users", str(users)]
    main([*argv, "--port", "1", "--bundle", str(bundle)])
    assert f"support bundle {bundle}" in capsys.readouterr().out
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        text = {name: z.read(name).decode() for name in names}
    assert {"doctor.txt", "versions.txt", "store.txt", "config/chairs.toml"} <= names
    assert {"logs/recorder.log", "logs/recorder.log.1"} <= names
    assert not any(name.endswith((".db", "users.toml")) for name in names)
    assert all("hunter2" not in body for body in text.values())
    assert "socket://<removed>@127.0.0.1:9" in text["config/chairs.toml"]
    assert 'shared_secret = "<removed>"' in text["config/chairs.toml"]
    assert "FAIL  dashboard" in text["doctor.txt"]
    assert "chairside 0.2" in text["versions.txt"]
    assert "device states" in text["store.txt"]
    assert "scrypt" not in "".join(text.values())
