"""The tile model: status order, BP-check timing, what can be acknowledged."""

from collections import namedtuple

import pandas as pd

from dashboard.overview_model import _bp_check, _status, build_tiles
from dashboard.tile_html import sparkline_svg, tile_html
from vitals.store import connect_readonly

E = namedtuple("E", "kind level rule param peak_value rule_json acked_by")
NOW = pd.Timestamp("2026-03-01 10:00:00", tz="UTC")
SBP_HIGH = '{"param": "sbp", "direction": "high", "tiers": {"warning": 165, "critical": 180}}'
SBP_RISE = '{"param": "sbp", "direction": "high", "relative": true, "baseline": 125.5,'
SBP_RISE += ' "tiers": {"advisory": 30, "warning": 40}}'


def test_status_prefers_clinical_severity_then_technical_then_link() -> None:
    alerts = [
        E("technical", "warning", "device-disconnected", None, None, "{}", None),
        E("clinical", "advisory", "sbp-rise", "sbp", 157.0, SBP_RISE, None),
    ]
    rise = "SBP rise above baseline: peak 157 mmHg (advisory at baseline 126 + 30 mmHg)"
    assert _status(alerts, None) == ("advisory", rise, False)
    critical = E("clinical", "critical", "sbp-high", "sbp", 186.0, SBP_HIGH, "Nurse Ada")
    assert _status([critical], None) == (
        "critical",
        "High SBP: peak 186 mmHg (critical limit 180 mmHg)",
        False,
    )
    assert _status([critical._replace(acked_by=None)], None)[2] is True  # flashes
    assert _status(alerts[:1], None) == ("technical", "Monitor disconnected", False)
    assert _status([], "Monitor sends no data") == ("technical", "Monitor sends no data", False)
    assert _status([], None) == ("normal", "Normal", False)


def test_bp_check_due_and_overdue_by_the_protocol_schedule() -> None:
    session = pd.Series({"protocol": "iv-ketamine", "dose": NOW - pd.Timedelta(minutes=15)})
    Row = namedtuple("Row", "time quality")
    fresh = {"sbp": Row(NOW - pd.Timedelta(minutes=4), "ok")}  # took the 10-min one at 11
    assert _bp_check(session, fresh, NOW) == ("BP check in 5 min", False)  # 20, not 21
    late = {"sbp": Row(NOW - pd.Timedelta(minutes=13), "ok")}  # at 2: the one due at 10 missed
    assert _bp_check(session, late, NOW) == ("BP check OVERDUE by 5 min", True)
    assert _bp_check(None, fresh, NOW) == ("", False)


def test_tiles_from_the_sample_store(sample_store) -> None:
    conn = connect_readonly(sample_store)
    tiles = build_tiles(conn, pd.Timestamp.now(tz="UTC"))
    assert [t.chair for t in tiles] == ["chair-1", "chair-2", "chair-3"]
    one = tiles[0]
    assert one.status == "critical" and one.flashing and len(one.unacked) == 1
    assert one.spark["sbp"] and one.spark["hr"]
    assert "CRITICAL — NOT ACKNOWLEDGED" in tile_html(one)
    assert one.headline == "High SBP: peak 186 mmHg"  # the fixture's episode has no limits
    assert one.session == "P-0001 · IV ketamine · dose 12 min ago"


def test_tile_text_is_escaped_and_sparklines_cope_with_little_data() -> None:
    import base64

    assert sparkline_svg({"sbp": [], "hr": []}) == ""
    img = sparkline_svg({"sbp": [(0, 120.0), (60_000_000, 130.0)], "hr": [(0, 70.0)]})
    svg = base64.b64decode(img.split("base64,")[1].split('"')[0]).decode()
    assert img.startswith('<img class="cs-spark"') and svg.count("<polyline") == 1


def test_tile_html_escapes_what_people_typed() -> None:
    from dashboard.overview_model import Tile

    tile = Tile("c1", "<b>Chair</b>", "normal", "Normal", False, "<script>", [], "", False, None)
    html = tile_html(tile)
    assert "<b>Chair" not in html and "&lt;script&gt;" in html
