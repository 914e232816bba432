"""The course table: each session's PHQ-9, sedation and dissociation peaks, response and
remission against the first PHQ-9, worked out by hand."""

from __future__ import annotations

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
    assert course_pdf(rows, "P-7", tmp_path / "course.pdf") == 1
