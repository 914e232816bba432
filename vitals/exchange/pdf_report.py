"""A session report as PDF: summary, chart, events and the alert and acknowledgment log.

For the clinical record and the auditor: one session per report, starting on its own page.
The chart is drawn with the PDF's own lines (no browser, no image renderer): systolic and
diastolic NIBP as points joined by a band, heart rate as a line, over minutes since the
session started. The built-in PDF fonts are Latin-1, so symbols such as ≥ are spelled out.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
from fpdf import FPDF

from vitals.reading import Param, Quality
from vitals.store import queries
from vitals.store.chain import verify
from vitals.thinning import keep_indices
from vitals.verdict import discharge_verdict, session_baselines

SPELLED = {"≥": ">=", "≤": "<=", "—": "-", "–": "-", "₂": "2", "·": "-", "→": "->"}
CHART_W, CHART_H = 180, 60
CHART_POINTS = 1000  # about six a millimetre: more would only make the file heavier


def session_report(conn: sqlite3.Connection, session_id: int, out: Path) -> int:
    """Write the report of one session to ``out``; returns its page count."""
    session = queries.session_by_id(conn, session_id)
    if session is None:
        raise ValueError(f"no session {session_id}")
    end = session.ended or datetime.now(session.started.tzinfo)
    readings = queries.stored_readings(conn, session.chair, session.started, end)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    _title(pdf, session)
    _line(pdf, f"Audit record: {verify(conn).summary()}", 8)
    pdf.ln(1)
    _summary(pdf, conn, session, readings, end)
    _chart(pdf, readings, session.started, end)
    _events(pdf, queries.events(conn, session.id))
    _alerts(pdf, queries.episodes(conn, session=session.id))
    pdf.output(str(out))
    return pdf.pages_count


def _text(value: object) -> str:
    text = str(value)
    for symbol, spelled in SPELLED.items():
        text = text.replace(symbol, spelled)
    return text.encode("latin-1", "replace").decode("latin-1")


def _line(pdf: FPDF, text: str, size: int = 9, bold: bool = False) -> None:
    pdf.set_font("Helvetica", "B" if bold else "", size)
    pdf.multi_cell(0, size * 0.5, _text(text), new_x="LMARGIN", new_y="NEXT")


def _title(pdf: FPDF, session) -> None:
    _line(pdf, f"Chairside session report - {session.chair} - patient {session.patient}", 14, True)
    _line(pdf, "Monitoring aid only - not a certified medical device.", 8)
    pdf.ln(2)


def _summary(pdf: FPDF, conn, session, readings, end: datetime) -> None:
    _line(pdf, "Summary", 11, True)
    started = f"{session.started:%Y-%m-%d %H:%M} UTC by {session.started_by}"
    ended = f"{session.ended:%H:%M} UTC" if session.ended else "still open"
    _line(pdf, f"Protocol {session.protocol}; started {started}; ended {ended}.")
    dose = f"{session.dose_time:%H:%M:%S} UTC" if session.dose_time else "not recorded"
    _line(
        pdf,
        f"Dose time: {dose}; dose {session.dose_mg or '-'} mg; "
        f"weight {session.weight_kg or '-'} kg.",
    )
    for base in session_baselines(conn, session).values():
        shown = "none" if base.value is None else f"{base.value:g}"
        _line(pdf, f"Baseline {base.param.value.upper()} {shown} ({base.source}).")
    for param in (Param.SBP, Param.DBP, Param.HR, Param.SPO2):
        _line(pdf, _extreme(readings, param, session.dose_time or session.started))
    _line(pdf, f"Discharge: {discharge_verdict(conn, session.id, end)}.")
    pdf.ln(2)


def _extreme(readings, param: Param, dose: datetime) -> str:
    valid = [
        r for r in readings if r.param is param and r.quality is Quality.OK and r.value is not None
    ]
    if not valid:
        return f"{param.value.upper()}: no valid reading."
    pick = min if param is Param.SPO2 else max
    top = pick(valid, key=lambda r: r.value)
    minutes = (top.time - dose).total_seconds() / 60
    word = "lowest" if param is Param.SPO2 else "peak"
    when = f"{minutes:+.0f} min from the dose"
    return f"{param.value.upper()} {word} {top.value:g} {top.unit} at {when}."


def _chart(pdf: FPDF, readings, start: datetime, end: datetime) -> None:
    _line(pdf, "Trend (NIBP systolic/diastolic in red, heart rate in green; mmHg / bpm)", 11, True)
    x0, y0 = pdf.get_x(), pdf.get_y() + 2
    span = max(60.0, (end - start).total_seconds())
    pdf.set_draw_color(120, 120, 120)
    pdf.rect(x0, y0, CHART_W, CHART_H)
    low, high = 30.0, 220.0

    def xy(time: datetime, value: float) -> tuple[float, float]:
        x = x0 + (time - start).total_seconds() / span * CHART_W
        y = y0 + CHART_H - (min(max(value, low), high) - low) / (high - low) * CHART_H
        return x, y

    pdf.set_font("Helvetica", "", 6)
    for mark in (60, 100, 140, 180):
        _, y = xy(start, mark)
        pdf.set_draw_color(225, 225, 225)
        pdf.line(x0, y, x0 + CHART_W, y)
        pdf.text(x0 - 7, y + 1, str(mark))
    valid = [r for r in readings if r.quality is Quality.OK and r.value is not None]
    nibp = {}
    for r in valid:
        if r.param in (Param.SBP, Param.DBP):
            nibp.setdefault(r.time, {})[r.param] = r.value
    pdf.set_draw_color(198, 40, 40)
    for time, pair in nibp.items():
        if len(pair) == 2:
            pdf.line(*xy(time, pair[Param.SBP]), *xy(time, pair[Param.DBP]))
    pdf.set_draw_color(46, 125, 50)
    hr = [r for r in valid if r.param is Param.HR]
    ms = np.array([(r.time - start).total_seconds() * 1000 for r in hr], dtype=np.int64)
    values = np.array([r.value for r in hr], dtype=float)
    drawn = [xy(hr[i].time, hr[i].value) for i in keep_indices(ms, values, CHART_POINTS)]
    for (ax, ay), (bx, by) in pairwise(drawn):
        pdf.line(ax, ay, bx, by)
    pdf.set_xy(x0, y0 + CHART_H + 1)
    _line(pdf, f"0 to {span / 60:.0f} min from the session start", 7)
    pdf.ln(2)


def _events(pdf: FPDF, events: pd.DataFrame) -> None:
    _line(pdf, "Events", 11, True)
    if events.empty:
        _line(pdf, "None.")
    for e in events.itertuples():
        value = "" if pd.isna(e.value) else f" ({e.value:g})"
        _line(pdf, f"{e.time:%H:%M:%S} {e.kind}{value} - {e.text} - by {e.by}", 8)
    pdf.ln(2)


def _alerts(pdf: FPDF, episodes: pd.DataFrame) -> None:
    _line(pdf, "Alerts and acknowledgments", 11, True)
    if episodes.empty:
        _line(pdf, "None.")
    for e in episodes.itertuples():
        ended = "open" if pd.isna(e.ended) else f"{e.ended:%H:%M:%S}"
        acked = (
            f"acknowledged by {e.acked_by} at {e.acked:%H:%M:%S}"
            if isinstance(e.acked_by, str)
            else "not acknowledged"
        )
        _line(
            pdf, f"{e.started:%H:%M:%S}-{ended} {e.level.upper()} {e.kind}: {e.reason}; {acked}", 8
        )
