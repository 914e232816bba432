"""Two sites forward into one central store, as in production: `simulate` -> `record --forward`.

Each site is a simulator on real ptys and a recorder process writing its own SQLite first;
both forward into the same central store: a PostgreSQL server reached over TCP through a link
the test cuts (every connection dropped, new ones refused), or a SQLite file whose write lock
the test holds. Acquisition goes on, the sites show the outage, and once the central store
answers again every reading of both sites is there exactly once, with the sessions and events
under the site-qualified chair ids.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT, chairside_command, child_env, query, wait_for
from tests.pg_cluster import SUPERUSER
from tests.service.conftest import stop
from tests.service.link_cutter import LinkCutter
from vitals.store import connect_readonly
from vitals.store.relay import relay_status

pytestmark = pytest.mark.slow
SITES = ("north", "south")


def start_site(start, tmp: Path, site: str, central: str, seed: int) -> tuple:
    folder = tmp / site
    folder.mkdir()
    config, db = folder / "chairs.toml", folder / "site.db"
    simulator = start(
        "simulate", "--chairs", "2", "--scenario", "typical,hypertensive", "--speed", "60",
        "--seed", str(seed), "--config", str(config), "--run-dir", str(folder / "run"),
        "--db", str(db),
    )  # fmt: skip
    wait_for(config.exists, what=f"{site}'s chair config")
    recorder = start(
        "record", "--config", str(config), "--db", str(db), "--forward", str(central),
        "--site", site,
    )  # fmt: skip
    return db, simulator, recorder


def status(db: Path):
    try:
        conn = connect_readonly(db)
    except Exception:
        return None
    try:
        return relay_status(conn)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


class SqliteCentral:
    """A central SQLite file; an outage is its write lock held by the test."""

    error = "the central store is busy: another site is writing"

    def __init__(self, tmp: Path) -> None:
        self.target = str(tmp / "central.db")
        self._lock: sqlite3.Connection | None = None

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return query(Path(self.target), sql, params)
        except sqlite3.OperationalError:  # not created yet
            return []

    def cut(self) -> None:
        self._lock = sqlite3.connect(self.target, isolation_level=None, timeout=30)
        self._lock.execute("BEGIN EXCLUSIVE")

    def restore(self) -> None:
        self._lock.execute("ROLLBACK")
        self._lock.close()


class ServerCentral:
    """A PostgreSQL database reached over a TCP link that the test cuts."""

    error = "the central store cannot be reached"

    def __init__(self, server, socket_dir: Path) -> None:
        self.server = server
        self.link = LinkCutter(socket_dir / ".s.PGSQL.5432")
        self.target = f"postgresql://{SUPERUSER}@127.0.0.1:{self.link.port}/{server.dbname}"

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = connect_readonly(self.server)
        try:
            return [tuple(row) for row in conn.execute(sql, params).fetchall()]
        finally:
            conn.close()

    def cut(self) -> None:
        self.link.cut()

    def restore(self) -> None:
        self.link.restore()


@pytest.fixture(params=["postgresql", "sqlite"])
def central(request, tmp_path: Path):
    if request.param == "sqlite":
        yield SqliteCentral(tmp_path)
        return
    cluster = request.getfixturevalue("pg_cluster")
    server = ServerCentral(request.getfixturevalue("pg_url"), cluster.socket_dir)
    yield server
    server.link.close()


def central_count(central, site: str) -> int:
    rows = central.query("SELECT count(*) FROM readings_full WHERE chair LIKE ?", (f"{site}/%",))
    return rows[0][0] if rows else 0


def test_two_sites_forward_every_reading_once_across_a_cut_link(processes, tmp_path, central):
    sites = {
        name: start_site(processes, tmp_path, name, central.target, seed)
        for name, seed in zip(SITES, (11, 12), strict=True)
    }
    for name in SITES:
        wait_for(
            lambda n=name: central_count(central, n) > 40, timeout=40, what=f"{name} forwarded"
        )

    central.cut()
    try:
        before = {name: stored(sites[name][0]) for name in SITES}
        for name in SITES:  # both sites see the outage, and keep recording meanwhile
            wait_for(
                lambda n=name: (s := status(sites[n][0])) and s.down_since_us is not None,
                timeout=20,
                what=f"{name} showing the outage",
            )
        assert status(sites["north"][0]).last_error == central.error
        time.sleep(3)
        for name in SITES:
            assert stored(sites[name][0]) > before[name]  # acquisition never waited
            assert status(sites[name][0]).readings_waiting > 0
    finally:
        central.restore()

    for name in SITES:
        stop(sites[name][1])  # the monitors stop; what was recorded is forwarded
    for name in SITES:
        wait_for(
            lambda n=name: (s := status(sites[n][0])) and s.up_to_date and s.down_since_us is None,
            timeout=90,
            what=f"{name} caught up",
        )
    doctor = subprocess.run(
        chairside_command("doctor", "--db", str(sites["north"][0])),
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert "OK    central review: up to date (site north to" in doctor.stdout, doctor.stdout
    assert "password" not in doctor.stdout
    for name in SITES:
        stop(sites[name][2])

    for name in SITES:
        db = sites[name][0]
        local = Counter(
            (f"{name}/{c}", p, t, s, v)
            for c, p, t, s, v in query(
                db, "SELECT chair, param, t_us, seq, value FROM readings_full"
            )
        )
        forwarded = Counter(
            central.query(
                "SELECT chair, param, t_us, seq, value FROM readings_full WHERE chair LIKE ?",
                (f"{name}/%",),
            )
        )
        assert sum(local.values()) > 100
        assert forwarded == local  # every reading, once
        sessions = query(
            db, "SELECT chair, patient, started_us, ended_us FROM sessions ORDER BY id"
        )
        assert central.query(
            "SELECT chair, patient, started_us, ended_us FROM sessions WHERE chair LIKE ?"
            " ORDER BY id",
            (f"{name}/%",),
        ) == [(f"{name}/{c}", *rest) for c, *rest in sessions]
        events = query(db, 'SELECT kind, t_us, "by" FROM events ORDER BY id')
        assert (
            central.query(
                'SELECT kind, t_us, "by" FROM events WHERE chair LIKE ? ORDER BY id',
                (f"{name}/%",),
            )
            == events
        )


def stored(db: Path) -> int:
    return query(db, "SELECT count(*) FROM readings")[0][0]
