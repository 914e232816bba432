"""The tile model: status order, BP-check timing, what can be acknowledged."""

from collections import namedtuple

import pandas as pd

from dashboard.overview_model import _bp_check, _status, build_tiles
from dashboard.tile_html import sparkline_svg, tile_html
from vitals.store import connect_readonly

E = namedtuple("E", "kind level reason acked_by")
NOW = pd.Timestamp("2026-03-01 10:00:00", tz="UTC")


def test_status_prefers_clinical_severity_then_technical_then_link() -> None:
    alerts = [
        E("technical", "warning", "disconnected", None),
        E("clinical", "advisory", "SBP rise", None),
    ]
    assert _status(alerts, None) == ("advisory", "SBP rise", False)
    assert _status([E("clinical", "critical", "SBP 186", "Nurse Ada")], None) == (
        "critical",
        "SBP 186",
        False,
    )
    assert _status([E("clinical", "critical", "SBP 186", None)], None)[2] is True  # flashes
    assert _status(alerts[:1], None) == ("technical", "disconnected", False)
    assert _status([], "Monitor no data") == ("technical", "Monitor no data", False)
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


def test_tile_text_is_escaped_and_sparklines_cope_with_little_data() -> None:
    assert sparkline_svg({"sbp": [], "hr": []}) == ""
    svg = sparkline_svg({"sbp": [(0, 120.0), (60_000_000, 130.0)], "hr": [(0, 70.0)]})
    assert svg.count("<polyline") == 1


def test_tile_html_escapes_what_people_typed() -> None:
    from dashboard.overview_model import Tile

    tile = Tile("c1", "<b>Chair</b>", "normal", "Normal", False, "<script>", [], "", False, None)
    html = tile_html(tile)
    assert "<b>Chair" not in html and "&lt;script&gt;" in html
