"""The REMS monitoring record of a constructed esketamine session, worked out by hand.

Nurse's timeline (UTC stands in for the clinic's clock):
  08:45 session opened; 09:00 BP 132/84 and the 56 mg dose; MOAA/S 5, CADSS 0, breathing normal
  09:38 BP 138/88 (the check nearest +40 min); 09:40 MOAA/S 4, CADSS 12
  09:41:10-09:41:50 SpO2 89 % for 40 s, otherwise 97 %
  10:30 MOAA/S 5, CADSS 2; 11:01 BP 128/80; 11:02 session ended.
By hand: BP prior 132/84 at +0, at 40 min 138/88 at +38, at completion 128/80 at +121; total
122 min; ready at +121 (the first moment with a BP after the 40-min peak and the last two
settled); sedation yes (MOAA/S 4 at +40), dissociation yes (CADSS 12 > 4 at +40), respiratory
depression yes at 09:41:10 (+41 min).
"""

from __future__ import annotations

import csv
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import chairside_command, child_env
from tests.vitals.nurse_timeline import clock
from vitals.chairs import Chair
from vitals.reading import Param, Quality, Reading
from vitals.rems import desaturations, monitoring_record
from vitals.scales import RespiratoryDepression
from vitals.store import StoreWriter, commands, connect_readonly
from vitals.store.measures import record_score


def _reading(param: Param, at, value: float) -> Reading:
    return Reading(param, value, Quality.OK).stamped("c1", at, "monitor")


def _cuff(at: str, sbp: float, dbp: float) -> list[Reading]:
    t = clock(at)
    return [
        _reading(Param.SBP, t, sbp),
        _reading(Param.DBP, t, dbp),
        _reading(Param.MAP, t, round(dbp + (sbp - dbp) / 3)),
    ]


def _spo2(start: str, end: str, low=()) -> list[Reading]:
    """SpO2 at 1 Hz, 97 % except 89 % inside each (from, to) of ``low``."""
    out, t = [], clock(start)
    while t < clock(end):
        dipped = any(clock(a) <= t < clock(b) for a, b in low)
        out.append(_reading(Param.SPO2, t, 89 if dipped else 97))
        t += timedelta(seconds=1)
    return out


def build_session(fresh_store: StoreWriter, db: Path, low=(("09:41:10", "09:41:50"),)) -> int:
    fresh_store.write_chairs([Chair("c1", "Chair 1", "loop://", "ge-s5")])
    readings = _cuff("09:00", 132, 84) + _cuff("09:38", 138, 88) + _cuff("11:01", 128, 80)
    fresh_store.write_readings(
        sorted(readings + _spo2("08:50", "11:02", low), key=lambda r: r.time)
    )
    session = commands.start_session(
        db, "c1", "P-0042", "esketamine-nasal", "Nurse Ada", at=clock("08:45"), dose_mg=56
    )
    commands.add_event(db, session, "dose", "Nurse Ada", at=clock("09:00"))
    for at, moaas, cadss in (("09:00", 5, 0), ("09:40", 4, 12), ("10:30", 5, 2)):
        record_score(db, session, "sedation", moaas, "Nurse Ada", clock(at))
        record_score(db, session, "dissociation", cadss, "Nurse Ada", clock(at))
    record_score(db, session, "respiratory", 0, "Nurse Ada", clock("09:00"))
    commands.add_event(
        db, session, "medication", "Nurse Ada", "ondansetron 4 mg", 4, clock("09:20")
    )
    commands.end_session(db, session, "Nurse Ada", "ready", clock("11:02"))
    return session


@pytest.fixture
def record(fresh_store: StoreWriter, db_path: Path):
    session = build_session(fresh_store, db_path)
    conn = connect_readonly(db_path)
    try:
        yield monitoring_record(conn, session, clock("12:00"))
    finally:
        conn.close()


def _value(record, question: str) -> tuple[str, float | None]:
    a = record.answer(question)
    return a.answer, a.minutes_from_dose


def test_the_three_blood_pressures_with_their_times(record) -> None:
    assert _value(record, "Blood pressure prior to administration") == ("132/84", 0.0)
    assert _value(record, "Blood pressure 40 min") == ("138/88", 38.0)
    assert _value(record, "Blood pressure prior to treatment session completion") == (
        "128/80",
        121.0,
    )
    assert record.answer("Blood pressure 40 min").time == clock("09:38")


def test_monitoring_time_ready_time_and_ranges(record) -> None:
    assert _value(record, "Total time") == ("122", 122.0)
    assert _value(record, "REMS evaluation") == ("121", 121.0)
    assert record.answer("Vital signs in acceptable range prior to administration").answer == "Yes"
    assert record.answer("Vital signs in acceptable range prior to treatment").answer == "Yes"
    assert record.answer("Dose administered").answer == "56 mg"
    assert record.answer("Treatment date").answer == "03/02/2026"


def test_sedation_dissociation_and_respiratory_depression(record) -> None:
    sedation = record.answer("Did the patient experience sedation")
    assert (sedation.answer, sedation.minutes_from_dose) == ("Yes", 40.0)
    assert "MOAA/S 5 at 09:00 UTC (+0 min), 4 at 09:40 UTC (+40 min)" in sedation.evidence
    dissociation = record.answer("Did the patient experience dissociation")
    assert (dissociation.answer, dissociation.time) == ("Yes", clock("09:40"))
    breathing = record.answer("Did the patient experience respiratory depression")
    assert (breathing.answer, breathing.time) == ("Yes", clock("09:41:10"))
    assert "SpO2 below 90 % for 40 s from 09:41 UTC (+41 min), lowest 89 %" in breathing.evidence


def test_fields_monitoring_cannot_answer_are_left_for_the_nurse(record) -> None:
    for_nurse = [a.question for a in record.answers if a.for_nurse]
    assert "Lot number" in for_nurse
    assert any(q.startswith("Patient first name") for q in for_nurse)
    assert any(q.startswith("Currently taking benzodiazepines") for q in for_nurse)
    meds = record.answer("Currently taking benzodiazepines")
    assert "ondansetron 4 mg at 09:20 UTC (Nurse Ada)" in meds.evidence


def test_a_short_dip_is_not_respiratory_depression(fresh_store, db_path) -> None:
    session = build_session(fresh_store, db_path, low=(("09:41:10", "09:41:20"),))
    conn = connect_readonly(db_path)
    try:
        record = monitoring_record(conn, session, clock("12:00"))
    finally:
        conn.close()
    breathing = record.answer("Did the patient experience respiratory depression")
    assert breathing.answer == "No"
    assert breathing.evidence.startswith("SpO2 never below 90 % for 15 s")


@pytest.mark.parametrize(("seconds", "found"), [(14, False), (15, True), (40, True)])
def test_desaturation_edges(seconds: int, found: bool) -> None:
    rule = RespiratoryDepression(90, 15, "test")
    start = clock("09:41")
    spo2 = [_reading(Param.SPO2, start + timedelta(seconds=s), 89) for s in range(seconds)]
    spo2.append(_reading(Param.SPO2, start + timedelta(seconds=seconds), 90))
    assert bool(desaturations(spo2, rule)) is found


def test_export_rems_writes_a_one_page_pdf_and_a_csv(fresh_store, db_path, tmp_path) -> None:
    """A Chicago clinic: the PDF the nurse copies onto the REMS form is on the clinic's clock
    (09:38 UTC is 03:38 there on 2 March), the CSV is data and stays in UTC."""
    session = build_session(fresh_store, db_path)
    fresh_store.close()
    out = tmp_path / "rems"
    done = subprocess.run(
        chairside_command(
            "export",
            "--db",
            str(db_path),
            "--session",
            str(session),
            "--format",
            "rems",
            "--out",
            str(out),
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**child_env(), "TZ": "America/Chicago"},
    )
    assert done.returncode == 0, done.stderr
    assert "rems-record.pdf: 1 entries" in done.stdout  # the PDF's page count: one page
    text = " ".join(p.extract_text() for p in PdfReader(out / "rems-record.pdf").pages)
    assert "Times on the clinic's clock (America/Chicago)" in text and "UTC" not in text
    assert "taken 03:38:00 (+38 min)" in text and "03/02/2026" in text
    assert "Esketamine nasal spray" in text and "esketamine-nasal" not in text
    with (out / "rems-record.csv").open(encoding="utf-8") as f:
        rows = {r["question"]: r for r in csv.DictReader(f)}
    row = rows["Blood pressure 40 min post-administration (mmHg)"]
    assert (row["answer"], row["time_utc"], row["minutes_from_dose"]) == (
        "138/88",
        "2026-03-02T09:38:00.000Z",
        "38",
    )
    assert rows["Lot number"]["status"] == "for the nurse"
