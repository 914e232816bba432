"""Tile wording and figure building, without Streamlit."""

from collections import namedtuple
from itertools import pairwise
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from dashboard.tiles import (
    Shown,
    alert_lines,
    by_param,
    format_age,
    link_banner,
    recorder_banner,
    shown_nibp,
    shown_value,
)

NOW = pd.Timestamp("2026-03-01 10:00:00", tz="UTC")


def latest(rows: list[tuple]) -> dict:
    frame = pd.DataFrame(
        [
            {"param": p, "value": v, "quality": q, "time": NOW - pd.Timedelta(seconds=s)}
            for p, v, q, s in rows
        ]
    )
    return by_param(frame)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s ago"),
        (59, "59 s ago"),
        (60, "1 min ago"),
        (3599, "59 min ago"),
        (3600, "1 h 0 min ago"),
    ],
)
def test_format_age(seconds: int, text: str) -> None:
    assert format_age(seconds) == text


def test_values_carry_their_age_and_staleness() -> None:
    frame = latest(
        [
            ("hr", 72.0, "ok", 4),
            ("spo2", 97.0, "ok", 31),
            ("sbp", 150.0, "ok", 60),
            ("dbp", 90.0, "ok", 60),
            ("map", 110.0, "ok", 60),
        ]
    )
    assert shown_value(frame, "hr", NOW) == Shown("72", "4 s ago", False)
    assert shown_value(frame, "spo2", NOW).stale  # 31 s > 30 s for a continuous value
    assert shown_nibp(frame, NOW).text == "150/90 (110)"
    assert shown_value(frame, "pulse", NOW).age == "never received"


def test_invalid_values_are_never_shown_as_numbers() -> None:
    frame = latest([("hr", 0.0, "invalid", 1)])
    assert shown_value(frame, "hr", NOW).text == "— (invalid)"


def test_recorder_banner() -> None:
    alive = {"beat": NOW - pd.Timedelta(seconds=2), "stopped": None}
    dead = {"beat": NOW - pd.Timedelta(seconds=90), "stopped": None}
    stopped = {"beat": NOW, "stopped": NOW - pd.Timedelta(minutes=3)}
    assert recorder_banner(alive, NOW) is None
    assert "Recorder not running: last heartbeat 1 min ago" in recorder_banner(dead, NOW)
    assert "Recorder stopped 3 min ago" in recorder_banner(stopped, NOW)
    assert "No recorder" in recorder_banner(None, NOW)


def test_link_banner_names_the_worst_device_in_a_nurses_words(monkeypatch) -> None:
    monkeypatch.setenv("CHAIRSIDE_TIMEZONE", "America/Chicago")  # 10:00 UTC is 04:00 there
    Row = namedtuple("Row", "state since last_error device")
    error = "device reports readiness to read but returned no data (device disconnected or"
    silent = Row("no data", NOW, "no data for 20 s", "")
    assert link_banner([silent]) == (
        "Monitor sends no data since Sun 1 Mar 04:00: check the monitor is on and its data "
        "output is enabled."
    )
    assert link_banner([Row("connected", NOW, "", "")]) is None
    assert link_banner([]) == "No monitor has reported yet: values are not live."
    two = [Row("connected", NOW, "", "ge-s5"), Row("disconnected", NOW, error, "masimo-ascii")]
    shown = link_banner(two)
    assert shown.startswith("Monitor (masimo-ascii) disconnected since Sun 1 Mar 04:00: check")
    assert "readiness" not in shown and "UTC" not in shown  # the port's own words stay in the store


def test_alert_lines_put_the_most_severe_first_and_say_who_acked_when(monkeypatch) -> None:
    monkeypatch.setenv("CHAIRSIDE_TIMEZONE", "Europe/Berlin")  # 10:00 UTC is 11:00 there
    spo2 = '{"param": "spo2", "direction": "low", "tiers": {"warning": 90, "critical": 85}}'
    frame = pd.DataFrame(
        {
            "level": ["warning", "critical", "advisory"],
            "kind": ["clinical", "clinical", "technical"],
            "rule": ["sbp-high", "spo2-low", "invalid-hr"],
            "param": ["sbp", "spo2", "hr"],
            "peak_value": [170.0, 84.0, None],
            "rule_json": ["{}", spo2, "{}"],
            "started": [NOW] * 3,
            "ended": [pd.NaT, NOW, pd.NaT],
            "acked_by": [None, "Nurse Ada", None],
            "acked": [pd.NaT, NOW + pd.Timedelta(minutes=2), pd.NaT],
        }
    )
    lines = alert_lines(frame)
    assert [level for level, _ in lines] == ["critical", "warning", "advisory"]
    assert lines[0][1] == (
        "CRITICAL (high priority) — Low SpO₂: lowest 84% (critical limit 85%) (since Sun 1 Mar "
        "11:00; values recovered, acknowledged by Nurse Ada at Sun 1 Mar 11:02)"
    )
    assert "NOT acknowledged" in lines[1][1] and "technical: HR: no valid reading" in lines[2][1]


@pytest.mark.parametrize("window_h", [24, 6, 1, 0.25])
def test_a_one_sample_spike_survives_thinning_at_every_zoom(window_h: float) -> None:
    import numpy as np

    from dashboard.figures import MAX_POINTS, thin

    start = pd.Timestamp("2026-03-01", tz="UTC")
    seconds = int(window_h * 3600)
    values = np.random.default_rng(3).normal(72, 2, seconds)
    values[seconds // 3] = 188.0  # one reading of tachycardia
    series = pd.DataFrame(
        {"time": start + pd.to_timedelta(np.arange(seconds), unit="s"), "value": values}
    )
    kept = thin(series)
    assert len(kept) <= MAX_POINTS
    assert kept.value.max() == 188.0 and kept.value.min() == series.value.min()
    assert kept.time.is_monotonic_increasing


def test_course_figure_marks_a_session_whose_bp_did_not_come_back() -> None:
    from dashboard.figures import course_figure

    course = pd.DataFrame(
        {
            "session": [3, 7],
            "started": [NOW - pd.Timedelta(days=7), NOW],
            "baseline_sbp": [120.0, 125.0],
            "baseline_dbp": [80.0, 82.0],
            "peak_sbp": [170.0, 140.0],
            "peak_dbp": [100.0, 90.0],
            "rise_sbp": [50.0, 15.0],
            "rise_dbp": [20.0, 8.0],
            "back_to_baseline_min": [None, 0.0],
            "still_raised_at_end": [True, False],
            "alerts_advisory": [1, 0],
            "alerts_warning": [1, 0],
            "alerts_critical": [0, 0],
            "dissociation_max": [24.0, None],
        }
    )
    fig = course_figure(course, ZoneInfo("America/Chicago"))
    by_name = {t.name: t for t in fig.data}
    labels = ["#1 · 22 Feb", "#2 · 1 Mar"]  # the place in the course, the clinic's day
    assert list(by_name["SBP peak"].x) == labels and list(by_name["SBP peak"].y) == [170, 140]
    assert list(by_name["SBP peak"].error_y.arrayminus) == [50, 15]  # drawn down to baseline
    not_back = by_name["SBP not back near baseline by the end of the session"]
    assert list(not_back.x) == ["#1 · 22 Feb"]
    assert list(by_name["min after dose until SBP back near baseline"].text) == [None, "0 min"]


def test_limit_labels_never_overlap_and_close_events_take_lanes() -> None:
    from dashboard.figure_marks import lanes, spread

    placed = spread([165, 180, 90, 80, 100, 120, 132, 86], gap=6, low=70, high=190)
    ordered = sorted(placed)
    assert all(b - a >= 6 - 1e-9 for a, b in pairwise(ordered))
    assert all(70 <= y <= 190 for y in placed)
    # dose, infusion start and a BP check within a minute of each other on a 2 h chart
    found = lanes(
        [600, 620, 640, 4000], ["Dose given", "Infusion started", "BP check", "Note"], 7200
    )
    assert found == [0, 1, 2, 0]


def test_the_detail_chart_speaks_local_time_and_labels_events(monkeypatch) -> None:
    from dashboard.figures import detail_figure

    chicago = ZoneInfo("America/Chicago")
    readings = pd.DataFrame(
        {
            "time": [NOW - pd.Timedelta(minutes=m) for m in (10, 5)],
            "param": ["sbp", "sbp"],
            "value": [150.0, 172.0],
            "quality": ["ok", "ok"],
        }
    )
    events = pd.DataFrame(
        {
            "time": [NOW - pd.Timedelta(minutes=7)],
            "kind": ["dose"],
            "text": ["<b>x</b>"],
            "value": [None],
            "by": ["Nurse Ada"],
        }
    )
    episodes = pd.DataFrame(columns=["kind", "level", "started", "ended"])
    fig = detail_figure(
        readings,
        episodes,
        events,
        [("sbp", "warning", 165.0)],
        {"sbp": 131.0},
        NOW - pd.Timedelta(minutes=15),
        NOW,
        chicago,
    )
    sbp = next(t for t in fig.data if t.name == "SBP")
    assert pd.Timestamp(sbp.x[0]).hour == 3  # 09:50 UTC drawn at 03:50 Chicago
    marks = next(t for t in fig.data if t.name == "Events")
    assert list(marks.text) == ["Dose given"] and "&lt;b&gt;x&lt;/b&gt;" in marks.customdata[0]
    labels = [a.text for a in fig.layout.annotations]
    assert "SBP warning 165" in labels and "SBP baseline 131" in labels


def test_a_peak_just_before_the_dose_is_at_0_min_not_minus_0() -> None:
    from dashboard.review_tables import peak

    assert peak(79.0, -0.3) == "79 at 0 min"
    assert peak(176.0, 12.4) == "176 at 12 min"
    assert peak(150.0, -6.0) == "150 at -6 min"
    assert peak(150.0, None) == "150"


def test_a_tile_with_two_criticals_says_there_is_more_than_the_one_it_names() -> None:
    """High DBP 122 and High SBP 193 both critical: the tile names one and counts the other,
    so a glance never reads one critical where there are two."""
    from dashboard.overview_model import _status

    Episode = namedtuple("Episode", "kind level rule param peak_value rule_json acked_by")
    dbp = Episode("clinical", "critical", "dbp-high", "dbp", 122.0, "{}", None)
    sbp = Episode("clinical", "critical", "sbp-high", "sbp", 193.0, "{}", None)
    status, headline, flashing = _status([dbp, sbp], None)
    assert (status, flashing) == ("critical", True)
    assert headline == "High DBP: peak 122 mmHg (+1 more critical)"
    assert _status([dbp], None)[1] == "High DBP: peak 122 mmHg"


def test_a_session_without_clinical_alerts_does_not_read_as_nothing_happened() -> None:
    from dashboard.review_tables import alert_counts

    quiet = {"alerts_critical": 0, "alerts_warning": 0, "alerts_advisory": 0}
    assert alert_counts(quiet) == "no clinical alert"  # its technical alerts are in its log
    assert alert_counts(quiet | {"alerts_critical": 1, "alerts_advisory": 2}) == (
        "1 critical, 2 advisory"
    )


def test_the_time_beyond_each_threshold_names_its_parameter_and_side() -> None:
    """A clinician reads "High SBP warning 12 min; Low SpO₂ warning 3 min", never a bare
    "High warning" that cannot tell SBP from DBP (found by an independent tester)."""
    from dashboard.pages.review import _rule_level

    assert _rule_level("min_above_sbp-high_warning") == "High SBP warning"
    assert _rule_level("min_above_dbp-high_critical") == "High DBP critical"
    assert _rule_level("min_below_spo2-low_warning") == "Low SpO₂ warning"
    assert _rule_level("min_below_map-low_critical") == "Low MAP critical"
