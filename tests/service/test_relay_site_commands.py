"""A site that records with ``--db postgresql://… --site NAME`` as its IT person checks and
tries it: ``doctor`` with the recorder's own options checks the site's buffer (with its central
review line), a bare server URL says it checks the server only, and ``simulate`` refuses the
server (simulated sessions belong to a site's store)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from chairside.cli import main
from chairside.relay import CentralRelay, RelayTarget
from chairside.relay_words import NO_DATABASE
from tests.vitals.test_central_relay import CHAIRS, readings
from vitals.reading import Param, Reading, utc_now
from vitals.store import StoreWriter


def forwarding_site(buffer: Path, central: str) -> None:
    """A site's buffer that has sent all it recorded to ``central``."""
    buffer.parent.mkdir(parents=True, exist_ok=True)
    writer = StoreWriter(buffer, buffer.with_suffix(".spool"))
    try:
        writer.write_chairs(CHAIRS)
        writer.post_readings(readings(0, 20))
        relay = CentralRelay(writer, RelayTarget(central, "north"), threading.Event())
        relay.enable()
        while relay.step():
            pass
        relay._close()
    finally:
        writer.close()


def doctor_lines(capsys, *argv: str) -> str:
    main(["doctor", *argv, "--port", "1"])
    return capsys.readouterr().out


def test_doctor_with_the_recorders_options_checks_the_sites_buffer(tmp_path, pg_url, capsys):
    buffer = tmp_path / "north-buffer.db"
    forwarding_site(buffer, str(pg_url))
    out = doctor_lines(capsys, "--db", str(pg_url), "--site", "north", "--buffer", str(buffer))
    assert "OK    central review: up to date (site north to PostgreSQL database" in out, out
    assert "recorder:" in out and "schema: up to date" in out
    assert "the central server only" not in out


def test_doctor_finds_the_buffer_where_record_keeps_it(tmp_path, pg_url, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    forwarding_site(tmp_path / "data" / "sites" / "north.db", str(pg_url))
    out = doctor_lines(capsys, "--db", str(pg_url), "--site", "north")
    assert "central review: up to date (site north" in out, out


def test_doctor_on_a_bare_server_says_it_checks_the_server_only(pg_url, capsys):
    out = doctor_lines(capsys, "--db", str(pg_url))
    line = next(line for line in out.splitlines() if " checks: " in line)
    assert line.startswith("OK    checks: the central server only;")
    assert "--site NAME" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--db", "site.db", "--site", "north"], "--site is for a site that records with --db"),
        (["--buffer", "b.db"], "--buffer names a site's own store: give --site NAME too"),
    ],
)
def test_doctor_site_options_that_cannot_work_are_refused_in_one_line(argv, message, capsys):
    assert main(["doctor", *argv]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("chairside: error: ") and message in err
    assert "\n" not in err


def test_simulate_refuses_the_central_server_in_one_line(tmp_path, pg_url, capsys):
    status = main(["simulate", "--db", str(pg_url), "--config", str(tmp_path / "c.toml")])
    err = capsys.readouterr().err.strip()
    assert status == 1
    assert err == (
        "chairside: error: simulate writes to a site's own store, not to the central server: "
        "give --db the site's buffer (data/sites/SITE.db, or the recorder's --buffer PATH)"
    )
    assert not (tmp_path / "c.toml").exists()


def test_doctor_tells_a_site_forwarding_to_a_misspelled_database_what_to_correct(
    tmp_path, pg_cluster, capsys
):
    buffer = tmp_path / "north.db"
    target = pg_cluster.url("chairside_no_such_db")
    writer = StoreWriter(buffer, tmp_path / "north.spool")
    try:
        writer.write_chairs(CHAIRS)
        relay = CentralRelay(writer, RelayTarget(target, "north"), threading.Event())
        relay.enable()
        now = utc_now()  # current readings: not behind, but the link is down
        writer.post_readings(
            [
                Reading(
                    Param.HR, 70, time=now - timedelta(seconds=i), chair="chair-1", source="ge-s5"
                )
                for i in range(20)
            ]
        )
        with pytest.raises(Exception) as failure:  # any kind: the words are the test
            relay.step()
        relay._failed(failure.value)
    finally:
        writer.close()
    out = doctor_lines(capsys, "--db", str(buffer))
    line = next(line for line in out.splitlines() if "central review" in line)
    assert line.startswith("WARN  central review: 20 readings waiting;"), line  # no lone dash
    assert f"({NO_DATABASE})" in line
    assert "correct what is named above (retrying will not cure it)" in line
