"""The live page through Streamlit's AppTest on a simulator-filled store."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from vitals.store import StoreWriter
from vitals.times import to_us

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch):
    def run(db: Path) -> AppTest:
        monkeypatch.setenv("CHAIRSIDE_DB", str(db))
        at = AppTest.from_file(APP, default_timeout=30)
        at.run()
        assert not at.exception, at.exception
        return at

    return run


def test_live_page_shows_every_chair_with_values_and_ages(app, sample_store: Path) -> None:
    at = app(sample_store)
    assert sorted(h.value for h in at.subheader) == ["Chair 1", "Chair 2", "Chair 3"]
    metrics = {(m.label, m.value) for m in at.metric}
    chair1_hr = next(m.value for m in at.metric if m.label == "HR (bpm)")
    assert chair1_hr.isdigit()
    assert any(label.startswith("NIBP") and "/" in value for label, value in metrics)
    captions = " ".join(c.value for c in at.caption)
    assert "s ago" in captions and "never received" in captions
    assert "not a certified medical device" in captions


def test_open_critical_is_unmistakable_and_the_session_is_named(app, sample_store: Path) -> None:
    at = app(sample_store)
    [critical] = [e.value for e in at.error]
    assert critical.startswith("CRITICAL — SBP 186 ≥ 180") and "NOT acknowledged" in critical
    captions = [c.value for c in at.caption]
    assert any(
        c.startswith("Patient P-0001 · iv-ketamine · dose 12 min ago · baseline SBP ")
        and "median of" in c
        for c in captions
    ), captions
    assert captions.count("No session — monitor limits apply") == 2


def test_disconnected_chair_and_old_values_are_flagged(app, sample_store: Path) -> None:
    at = app(sample_store)
    warnings = [w.value for w in at.warning]
    assert any("Monitor disconnected" in w and "cable out" in w for w in warnings)
    assert any("No device state" in w for w in warnings)  # chair 3 was never heard from
    assert any("(old)" in m.value for m in at.metric)  # chair 2's last values are 20 min old
    assert [e.value for e in at.error if "Recorder" in e.value] == []


def test_stale_heartbeat_shows_recorder_not_running(app, sample_store: Path) -> None:
    writer = StoreWriter(sample_store)
    writer.beat(to_us_minutes_ago(120), to_us_minutes_ago(1))
    writer.close()
    at = app(sample_store)
    assert any("Recorder not running" in e.value for e in at.error)


def test_missing_database_is_an_error_message_not_a_crash(app, tmp_path: Path) -> None:
    at = app(tmp_path / "none.db")
    assert "does not exist yet" in at.error[0].value


def to_us_minutes_ago(minutes: float) -> int:
    from datetime import timedelta

    from vitals.reading import utc_now

    return to_us(utc_now() - timedelta(minutes=minutes))
