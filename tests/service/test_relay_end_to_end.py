"""Two sites forward into one central store, as in production: `simulate` -> `record --forward`.

Each site is a simulator on real ptys and a recorder process writing its own SQLite first;
both forward into the same central store. In the middle the central store stops answering
(the test holds its write lock, as a server that is down or a link that is cut): acquisition
goes on, the sites show the outage, and once it answers again every reading of both sites is
there exactly once, with the sessions and events under the site-qualified chair ids.
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT, chairside_command, child_env, query, wait_for
from tests.service.conftest import stop
from vitals.store import connect_readonly
from vitals.store.relay import relay_status

pytestmark = pytest.mark.slow
SITES = ("north", "south")


def start_site(start, tmp: Path, site: str, central: Path, seed: int) -> tuple:
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


def central_count(central: Path, site: str) -> int:
    try:
        rows = query(
            central, "SELECT count(*) FROM readings_full WHERE chair LIKE ?", (f"{site}/%",)
        )
    except sqlite3.OperationalError:
        return 0
    return rows[0][0]


def hold_the_central_store(central: Path, seconds: float, held: threading.Event) -> None:
    """The central store stops answering writes for ``seconds``."""
    conn = sqlite3.connect(central, isolation_level=None, timeout=30)
    conn.execute("BEGIN EXCLUSIVE")
    held.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def test_two_sites_forward_every_reading_once_across_a_central_outage(processes, tmp_path):
    central = tmp_path / "central.db"
    sites = {
        name: start_site(processes, tmp_path, name, central, seed)
        for name, seed in zip(SITES, (11, 12), strict=True)
    }
    for name in SITES:
        wait_for(
            lambda n=name: central_count(central, n) > 40, timeout=40, what=f"{name} forwarded"
        )

    held = threading.Event()
    outage = threading.Thread(target=hold_the_central_store, args=(central, 12.0, held))
    outage.start()
    held.wait(30)
    before = {name: stored(sites[name][0]) for name in SITES}
    for name in SITES:  # both sites see the outage, and keep recording meanwhile
        wait_for(
            lambda n=name: (s := status(sites[n][0])) and s.down_since_us is not None,
            timeout=20,
            what=f"{name} showing the outage",
        )
    down = status(sites["north"][0])
    assert down.last_error == "the central store is busy (another site is writing)"
    outage.join()
    for name in SITES:
        assert stored(sites[name][0]) > before[name]  # acquisition never waited

    for name in SITES:
        stop(sites[name][1])  # the monitors stop; what was recorded is forwarded
    for name in SITES:
        wait_for(
            lambda n=name: (s := status(sites[n][0])) and s.up_to_date and s.down_since_us is None,
            timeout=60,
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
            query(
                central,
                "SELECT chair, param, t_us, seq, value FROM readings_full WHERE chair LIKE ?",
                (f"{name}/%",),
            )
        )
        assert sum(local.values()) > 100
        assert forwarded == local  # every reading, once
        sessions = query(
            db, "SELECT chair, patient, started_us, ended_us FROM sessions ORDER BY id"
        )
        assert query(
            central,
            "SELECT chair, patient, started_us, ended_us FROM sessions WHERE chair LIKE ?"
            " ORDER BY id",
            (f"{name}/%",),
        ) == [(f"{name}/{c}", *rest) for c, *rest in sessions]
        events = query(db, "SELECT kind, t_us, by FROM events ORDER BY id")
        assert (
            query(
                central,
                "SELECT kind, t_us, by FROM events WHERE chair LIKE ? ORDER BY id",
                (f"{name}/%",),
            )
            == events
        )


def stored(db: Path) -> int:
    return query(db, "SELECT count(*) FROM readings")[0][0]
