"""Blind is never NORMAL: the page itself judges whether each chair has current data, from the
age of its newest valid reading and the recorder's heartbeat, whatever the recorder says."""

from collections import namedtuple
from datetime import timedelta
from pathlib import Path

import pandas as pd

from dashboard.overview_model import build_tiles
from dashboard.sound import alarm_level, alarm_wav
from dashboard.tile_html import tile_html
from dashboard.tiles import blind_since, clinic_time, recorder_line, store_banner
from vitals.chairs import Chair
from vitals.device_state import DeviceState, LinkState
from vitals.engine import TECHNICAL, Episode
from vitals.reading import Param, Quality, Reading, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, commands, connect_readonly
from vitals.times import to_us

NOW = pd.Timestamp("2026-03-01T10:00:00Z")
Row = namedtuple("Row", "time value quality")


def test_a_chair_is_current_only_with_a_young_valid_reading_and_a_live_recorder() -> None:
    young = {"hr": Row(NOW - pd.Timedelta(seconds=5), 80.0, "ok")}
    assert blind_since(young, 15, True, NOW) is None
    assert blind_since(young, 15, False, NOW) == young["hr"].time  # recorder down: blind
    old = {"hr": Row(NOW - pd.Timedelta(seconds=40), 80.0, "ok")}
    assert blind_since(old, 15, True, NOW) == old["hr"].time
    invalid = {"hr": Row(NOW, None, "invalid"), "spo2": Row(NOW, 97.0, "artifact")}
    assert blind_since(invalid, 15, True, NOW) is True  # only bad values: never current
    assert blind_since({}, 15, True, NOW) is True


def chair_store(db: Path, reading_age_s: float, beat_age_s: float, stopped: bool = False):
    now = utc_now()
    writer = StoreWriter(db)
    writer.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5", no_data_after_s=10)])
    at = now - timedelta(seconds=reading_age_s)
    writer.write_readings([Reading(Param.HR, 190.0, Quality.OK).stamped("c1", at, "ge-s5")])
    beat = to_us(now - timedelta(seconds=beat_age_s))
    writer.beat(to_us(now - timedelta(hours=1)), beat, stopped=stopped)
    return writer, now


def tile_of(db: Path):
    conn = connect_readonly(db)
    try:
        [tile] = build_tiles(conn, pd.Timestamp.now(tz="UTC"))
    finally:
        conn.close()
    return tile


def test_a_wedged_recorder_shows_no_current_data_not_the_last_clinical_label(
    db_path: Path,
) -> None:
    """HR 190 is a critical episode, but the recorder stopped beating 30 s ago: the page
    cannot know the patient now, and says so with the time data stopped."""
    writer, now = chair_store(db_path, reading_age_s=30, beat_age_s=30)
    critical = Episode("hr-high", "clinical", Level.CRITICAL, now - timedelta(seconds=30))
    writer.write_episodes("c1", None, [critical])
    writer.close()
    tile = tile_of(db_path)
    since = clinic_time(pd.Timestamp(now - timedelta(seconds=30)))
    assert tile.status == "nodata" and tile.blind == f"NO CURRENT DATA — since {since}"
    assert "Recorder not running" in tile.headline
    html = tile_html(tile)
    assert 'data-status="nodata"' in html and "NORMAL" not in html
    assert alarm_level(tile.alarm_levels) == "critical"  # the unacknowledged critical first
    assert tile.sound == "technical"


def test_a_silent_monitor_with_a_live_recorder_is_blind_and_heard_until_acknowledged(
    db_path: Path,
) -> None:
    writer, now = chair_store(db_path, reading_age_s=60, beat_age_s=0)
    no_data = Episode("no-data", TECHNICAL, Level.WARNING, now - timedelta(seconds=45))
    writer.write_episodes("c1", None, [no_data])
    writer.close()
    tile = tile_of(db_path)
    assert tile.status == "nodata" and tile.sound == "technical"
    commands.acknowledge(db_path, tile.unacked[0][0], "Nurse Ada")
    tile = tile_of(db_path)
    assert tile.status == "nodata" and tile.sound is None  # still shown, no longer sounded


def test_a_recorder_stopped_on_purpose_is_shown_not_sounded(db_path: Path) -> None:
    writer, _ = chair_store(db_path, reading_age_s=120, beat_age_s=100, stopped=True)
    writer.close()
    tile = tile_of(db_path)
    assert tile.status == "nodata" and tile.sound is None


def test_the_technical_tone_is_its_own_sound() -> None:
    assert alarm_level(["technical"]) == "technical"
    assert alarm_level(["technical", "warning"]) == "warning"
    assert alarm_wav("technical") not in (alarm_wav("warning"), alarm_wav("critical"))


def test_which_recorder_writes_and_why_the_store_refuses(db_path: Path) -> None:
    now = pd.Timestamp.now(tz="UTC")
    beat = {"pid": 4242, "host": "desk-pc", "started": now, "beat": now, "stopped": None}
    assert recorder_line(beat, None, now) == (
        f"Recording: pid 4242 on desk-pc, since {clinic_time(now)}."
    )
    fault = {"since": now.timestamp(), "reason": "database or disk is full", "waiting": 312}
    status = {"beat": now.timestamp(), "store": fault}
    banner = store_banner(status, now)
    assert "refuses the recorder's writes" in banner and "312 readings are kept" in banner
    assert "database or disk is full" in recorder_line(beat, status, now)


def test_a_chair_that_lost_its_monitor_greys_its_last_values_and_says_why_once(
    db_path: Path,
) -> None:
    """20 s after the cable came out: past the chair's 10 s limit, but younger than a heart
    rate's own 30 s staleness. The tile is blind, its last HR is greyed and marked "not
    current" (it must not look live under the banner), and the link's sentence is said once."""
    writer, now = chair_store(db_path, reading_age_s=20, beat_age_s=0)
    since = now - timedelta(seconds=12)
    writer.write_device_state(DeviceState("c1", LinkState.DISCONNECTED, since), to_us(now))
    writer.close()
    tile = tile_of(db_path)
    assert tile.status == "nodata" and tile.blind
    assert all(shown.stale for _, shown in tile.values)
    assert " s ago — not current" in tile_html(tile)
    assert tile.headline.startswith("Monitor disconnected since")
    assert "·" not in tile.headline, tile.headline
