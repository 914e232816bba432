"""The course table: each session's PHQ-9, sedation and dissociation peaks, response and
remission against the first PHQ-9, worked out by hand."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from tests.vitals.nurse_timeline import clock
from vitals.chairs import Chair
from vitals.course_measures import course_table
from vitals.exchange.course_report import course_pdf
from vitals.questionnaires import Phq9
from vitals.store import StoreWriter, commands, connect_readonly
from vitals.store.measures import record_phq9, record_score

NURSE = "Nurse Ada"


def _session(db: Path, day: int, phq9: tuple[int, ...] | None, moaas=(), cadss=()) -> None:
    start = clock("09:00").replace(day=2 + day)
    session = commands.start_session(
        db, "c1", "P-7", "esketamine-nasal", NURSE, at=start, dose_mg=56
    )
    if phq9 is not None:
        record_phq9(db, session, Phq9(phq9), "patient", start)
    for n, (m, c) in enumerate(zip(moaas, cadss, strict=True)):
        at = start.replace(minute=10 + n)
        record_score(db, session, "sedation", m, NURSE, at)
        record_score(db, session, "dissociation", c, NURSE, at)
    commands.end_session(db, session, NURSE, "ready", start.replace(hour=11))


def test_course_marks_response_and_remission(
    fresh_store: StoreWriter, db_path: Path, tmp_path: Path
) -> None:
    fresh_store.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    fresh_store.close()
    _session(db_path, 0, (3, 3, 2, 2, 2, 2, 2, 2, 2), (5, 4), (0, 12))  # 20
    _session(db_path, 3, None, (5,), (6,))  # no PHQ-9 this time: a blank, not a carry-over
    _session(db_path, 7, (2, 2, 1, 1, 1, 1, 1, 1, 0), (3, 5), (20, 2))  # 10: response
    _session(db_path, 10, (1, 1, 1, 1, 0, 0, 0, 0, 0), (5,), (1,))  # 4: response, remission
    conn = connect_readonly(db_path)
    rows = course_table(conn, "P-7", clock("12:00").replace(day=20))
    conn.close()
    assert rows.phq9_total.tolist()[0] == 20 and rows.phq9_total.isna().tolist()[1]
    assert rows.phq9_total.tolist()[2:] == [10, 4]
    assert rows.phq9_response.tolist()[2:] == [True, True]
    assert rows.phq9_remission.tolist()[2:] == [False, True]
    assert rows.phq9_change_pct.tolist()[2:] == [-50.0, -80.0]
    assert rows.sedation_lowest_moaas.tolist() == [4, 5, 3, 5]
    assert rows.dissociation_peak.tolist() == [12, 6, 20, 1]
    assert rows.phq9_self_harm.tolist() == [True, False, False, False]  # item 9 of the first
    assert course_pdf(rows, "P-7", tmp_path / "course.pdf", UTC) == 1


def test_a_course_across_sites_prints_each_sessions_site_its_clinic_date_and_rounded_values(
    tmp_path: Path,
) -> None:
    """A group's central review: one patient seen at two clinics. The PDF must tell the
    sessions apart by site, date them in the clinic's zone and show values as the page does."""
    from zoneinfo import ZoneInfo

    import pandas as pd
    from pypdf import PdfReader

    late_evening = pd.Timestamp("2026-03-02 03:30", tz="UTC")  # 21:30 on the 1st in Chicago
    row = {
        "started": late_evening,
        "protocol": "iv-ketamine",
        "phq9_total": 12.0,
        "phq9_change_pct": float("nan"),
        "phq9_response": None,
        "phq9_remission": None,
        "phq9_self_harm": False,
        "baseline_sbp": 116.5,
        "baseline_dbp": 84.5,
        "rise_sbp": 37.5,
        "sedation_lowest_moaas": 4.0,
        "dissociation_peak": 6.0,
        "alerts_warning": 1,
        "alerts_critical": 0,
        "side_effects": "nausea (mild)",
    }
    rows = pd.DataFrame([{**row, "chair": "north/chair-1"}, {**row, "chair": "south/chair-2"}])
    course_pdf(rows, "P-9", tmp_path / "course.pdf", ZoneInfo("America/Chicago"))
    text = " ".join(p.extract_text() for p in PdfReader(tmp_path / "course.pdf").pages)
    assert "Site" in text and "north" in text and "south" in text
    assert "2026-03-01" in text and "2026-03-02" not in text
    assert "117/85" in text and "+38" in text and "116.5" not in text
    assert "IV ketamine" in text and "iv-ketamine" not in text
