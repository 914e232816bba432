"""One export, whoever asks for it: the command line writes it into a folder, the Review page
offers its main file as a download; both see the same files and the same progress."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path

from vitals.clinic_time import clinic_zone
from vitals.errors import ConfigError
from vitals.exchange.csv_io import export_csv
from vitals.exchange.pdf_report import session_report
from vitals.exchange.progress import Progress, tracked
from vitals.exchange.rems_report import CSV_NAME, PDF_NAME, write_csv, write_pdf
from vitals.exchange.standards import moments, write_fhir, write_hl7
from vitals.reading import utc_now
from vitals.rems import build_record, record_inputs
from vitals.store import queries

FORMATS = ("csv", "pdf", "hl7", "fhir", "rems")
MAIN_FILE = {
    "csv": "readings.csv",
    "pdf": "report.pdf",
    "hl7": "messages.hl7",
    "fhir": "bundle.json",
    "rems": PDF_NAME,
}


@dataclass(frozen=True)
class Window:
    """What to export: a chair between two times, and the session it is, if it is one."""

    chair: str
    start: datetime
    end: datetime | None
    patient: str
    session: int | None = None


def session_window(conn: sqlite3.Connection, session_id: int) -> Window:
    session = queries.session_by_id(conn, session_id)
    if session is None:
        raise ConfigError(f"no session {session_id}")
    return Window(session.chair, session.started, session.ended, session.patient, session.id)


def chair_window(chair: str, start: datetime, end: datetime | None) -> Window:
    return Window(chair, start, end, f"chair-{chair}")


def export(
    conn: sqlite3.Connection,
    form: str,
    window: Window,
    out: Path,
    progress: Progress | None = None,
    zone: tzinfo | None = None,
) -> dict[str, int]:
    """Write ``form`` of ``window`` into the folder ``out``; returns entries per file written.

    ``zone`` is the clinic's, for the PDF report people read (default: this machine's); the
    data formats (CSV, HL7, FHIR) stay in UTC.
    """
    out.mkdir(parents=True, exist_ok=True)
    if form == "csv":
        return export_csv(
            conn, out, window.chair, window.start, window.end, window.session, progress
        )
    if form == "pdf":
        if window.session is None:
            raise ConfigError("a PDF report is per session: give --session ID")
        _stage(progress, MAIN_FILE[form], 0)
        pages = session_report(conn, window.session, out / MAIN_FILE[form], zone)
        _stage(progress, MAIN_FILE[form], 1)
        return {MAIN_FILE[form]: pages}
    if form == "rems":
        return _rems(conn, window, out, progress, zone or clinic_zone(None))
    if form not in FORMATS:
        raise ConfigError(f"unknown export format {form!r}; known: {', '.join(FORMATS)}")
    rows = queries.export_rows(conn, window.chair, window.start, window.end, valued_ok=True)
    total = queries.count_readings(conn, window.chair, window.start, window.end, valued_ok=True)
    counted = tracked(rows, MAIN_FILE[form], progress, total)
    stream = moments((t_us, param, value) for t_us, param, value, *_ in counted)
    with (out / MAIN_FILE[form]).open("w", encoding="utf-8", newline="") as handle:
        if form == "hl7":
            return {MAIN_FILE[form]: write_hl7(stream, window.patient, handle)}
        return {MAIN_FILE[form]: write_fhir(stream, window.patient, handle)}


def _rems(
    conn: sqlite3.Connection, window: Window, out: Path, progress: Progress | None, zone: tzinfo
) -> dict[str, int]:
    """The session's REMS monitoring record: rems-record.pdf (one page, on the clinic's clock:
    the nurse copies it onto the REMS form) and rems-record.csv (data: UTC)."""
    if window.session is None:
        raise ConfigError("the REMS monitoring record is per session: give --session ID")
    _stage(progress, PDF_NAME, 0)
    inputs = record_inputs(conn, window.session, utc_now())
    counts = {
        PDF_NAME: write_pdf(build_record(replace(inputs, zone=zone)), out / PDF_NAME),
        CSV_NAME: write_csv(build_record(inputs), out / CSV_NAME),
    }
    _stage(progress, PDF_NAME, 1)
    return counts


def _stage(progress: Progress | None, stage: str, done: int) -> None:
    """A step that cannot be split: reported as begun (0 of 1) and done (1 of 1)."""
    if progress is not None:
        progress(stage, done, 1)
