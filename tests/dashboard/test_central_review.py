"""The central review: the dashboard on a PostgreSQL store that two sites fill, as an auditor
and a prescriber use it — every site's sessions, each chair named with its site, one
patient's course across both, the exports and the record check read from the server."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import Station
from simulators.offline import recorded_session
from simulators.sample_clinic import PLAN
from tests.central_sample import SITES
from tests.conftest import ROOT
from vitals.chairs import Chair
from vitals.reading import utc_now
from vitals.store import StoreWriter, commands
from vitals.store.central import writing_as_site
from vitals.store.location import PostgresServer
from vitals.users import add_user

APP = str(ROOT / "dashboard" / "app.py")
NURSE = "Dr Grey"


@pytest.fixture
def central(
    central_sample: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> PostgresServer:
    return reviewing(central_sample, tmp_path, monkeypatch)


def reviewing(
    db: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> PostgresServer:
    """The dashboard started on the central store ``db``, with a reviewer who may sign in."""
    users = tmp_path / "users.toml"
    add_user(users, NURSE, "reviewer")
    monkeypatch.setenv("CHAIRSIDE_USERS", str(users))
    monkeypatch.setenv("CHAIRSIDE_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("CHAIRSIDE_DB", str(db))
    return db


def opened(script: str | None = None) -> AppTest:
    at = (
        AppTest.from_string(script, default_timeout=60)
        if script
        else AppTest.from_file(APP, default_timeout=60)
    )
    at.session_state["station"] = Station(NURSE, time.time(), f"central-{uuid.uuid4().hex}")
    at.run()
    assert not at.exception, at.exception
    return at


def page(module: str, function: str) -> str:
    return f"from dashboard.pages.{module} import {function}\n{function}()\n"


def test_the_central_station_opens_on_the_review_and_rings_no_alarm(central) -> None:
    at = opened()
    assert [t.value for t in at.title] == ["Review"]
    assert not [t for t in at.toggle if t.label == "Alarm sound"]  # the sites' stations ring
    assert any(c.value.startswith("Central review of every site") for c in at.caption)
    assert not any("sound is OFF" in w.value for w in at.warning)


def test_review_lists_every_site_with_each_chair_named_by_its_site(central) -> None:
    at = opened(page("review", "review_page"))
    listing = at.dataframe[0].value
    assert len(listing) == len(PLAN) * len(SITES)
    assert set(listing.Chair) == {f"{s} · Chair {n}" for s in SITES for n in (1, 2, 3)}
    [chairs] = [m for m in at.multiselect if m.label == "Chair"]
    assert chairs.format_func("hillside/chair-2") == "hillside · Chair 2"
    chairs.select("hillside/chair-2").run()  # the id survives the widget's round trip
    assert not at.exception, at.exception
    narrowed = at.dataframe[0].value
    assert set(narrowed.Chair) == {"hillside · Chair 2"}
    assert len(narrowed) == sum(p.chair == "chair-2" for p in PLAN)
    assert any(c.value.startswith("Record verified at ") for c in at.caption)  # the PG chain
    assert len(at.get("plotly_chart")) == 1  # the newest session's chart, from the server
    [session] = [s.value for s in at.selectbox if s.label == "Session"]
    at.button(key=f"prepare-session-{session}-readings.csv").click().run()
    assert not at.exception, at.exception
    assert any(b.proto.label.endswith("readings.csv") for b in at.get("download_button"))


def test_a_session_still_running_at_a_site_reads_as_running_centrally(
    pg_url: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A patient has been in hillside's chair 2 for half an hour when the group's auditor
    opens the central review: the list and the session say she is still there, since when."""
    chair, started = "hillside/chair-2", utc_now() - timedelta(minutes=30)
    writer = StoreWriter(pg_url)
    writer.write_chairs([Chair(chair, "Chair 2", "loop://", "ge-s5")])
    writer.write_readings(recorded_session(chair, "typical", 3, started, 30 * 60))
    writer.close()
    with writing_as_site():  # forwarded by the site, as its recorder and nurses wrote it
        commands.start_session(
            pg_url, chair, "P-0042", "iv-ketamine", "Nurse Ada", at=started, weight_kg=70
        )
    reviewing(pg_url, tmp_path, monkeypatch)
    at = opened(page("review", "review_page"))
    listing = at.dataframe[0].value
    assert listing.Chair.tolist() == ["hillside · Chair 2"]
    assert listing.Discharge.tolist() == ["Running"]
    since = f"{started.astimezone(ZoneInfo('America/Chicago')):%H:%M}"
    read = [re.sub(r"\\(.)", r"\1", m.value) for m in [*at.warning, *at.caption]]
    [notice] = [m for m in read if m.startswith("Still running")]
    assert f"the patient has been in hillside · Chair 2 since {since}." in notice
    assert any(re.match(rf"Running since {since} \(3\d min so far\)", m) for m in read), read


def test_one_patients_course_spans_the_sites(central) -> None:
    at = opened(page("course", "course_page"))
    at.selectbox[0].select("P-2041").run()
    assert not at.exception, at.exception
    [table] = at.dataframe
    assert len(table.value) == len(SITES) * sum(p.patient.ref == "P-2041" for p in PLAN)
    assert set(table.value.Site) == set(SITES)
    assert table.value["Started"].is_monotonic_increasing
    assert [b.proto.label for b in at.get("download_button")] == ["course.csv", "course.pdf"]
