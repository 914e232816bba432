"""A patient's course as a PDF: one row per session with the PHQ-9 (response and remission
marked), the BP rise, the sedation and dissociation peaks, alerts and side effects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path

import pandas as pd
from fpdf import FPDF

from vitals.clinic_time import local
from vitals.exchange.pdf_report import _text
from vitals.wording import chair_site, monitor_number, protocol_label, signed_number

PAGE_MM = 277  # A4 landscape less margins


def _columns(zone: tzinfo, sites: bool) -> list[tuple[str, int, Callable]]:
    """Heading, width in mm and cell of each column; a Site column on a central store, where
    one patient's course spans a group's clinics. Dates in the clinic's zone, numbers as the
    page and the monitor show them."""
    columns: list[tuple[str, int, Callable]] = [
        ("Date", 22, lambda r: f"{local(pd.Timestamp(r.started).to_pydatetime(), zone):%Y-%m-%d}"),
        *([("Site", 24, lambda r: chair_site(r.chair))] if sites else []),
        ("Protocol", 30, lambda r: protocol_label(r.protocol)),
        ("PHQ-9", 14, lambda r: _whole(r.phq9_total)),
        (
            "Change",
            16,
            lambda r: "" if pd.isna(r.phq9_change_pct) else f"{r.phq9_change_pct:+.0f} %",
        ),
        ("Course", 26, lambda r: _course(r)),
        ("Pre-dose BP", 20, lambda r: f"{_whole(r.baseline_sbp)}/{_whole(r.baseline_dbp)}"),
        ("SBP rise", 15, lambda r: _signed(r.rise_sbp)),
        ("Lowest MOAA/S", 25, lambda r: _whole(r.sedation_lowest_moaas)),
        ("CADSS peak", 19, lambda r: _whole(r.dissociation_peak)),
        ("Alerts W/C", 18, lambda r: f"{r.alerts_warning}/{r.alerts_critical}"),
    ]
    rest = PAGE_MM - sum(width for _, width, _ in columns)
    return [*columns, ("Side effects (severity)", rest, lambda r: r.side_effects)]


def _whole(value) -> str:
    return "" if value is None or pd.isna(value) else monitor_number(value)


def _signed(value) -> str:
    return "" if value is None or pd.isna(value) else signed_number(value)


def _course(row) -> str:
    marks = [
        m
        for m, on in (("response", row.phq9_response), ("remission", row.phq9_remission))
        if on is True
    ]
    if row.phq9_self_harm:
        marks.append("PHQ-9 item 9 > 0")
    return ", ".join(marks)


def course_pdf(rows: pd.DataFrame, patient: str, out: Path, zone: tzinfo) -> int:
    """Write the course of ``patient`` (``vitals.course_measures.course_table`` rows), dated
    in the clinic's ``zone``."""
    columns = _columns(zone, bool(rows.chair.map(chair_site).astype(bool).any()))
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(auto=True, margin=10)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(
        0,
        7,
        _text(f"Chairside treatment course - patient {patient}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(
        0,
        4,
        _text(
            "PHQ-9 entered before each session; response = a total at least 50 % below the "
            "course's first, remission = below 5. SBP rise = peak minus the pre-dose baseline. "
            "MOAA/S 5 is fully alert; a CADSS total above 4 is dissociation. Monitoring aid only - "
            "not a certified medical device."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 8)
    for heading, width, _ in columns:
        pdf.cell(width, 5, _text(heading), border="B")
    pdf.ln(5)
    pdf.set_font("Helvetica", "", 8)
    for row in rows.itertuples():
        for _, width, cell in columns:
            pdf.cell(width, 5, _text(cell(row))[: int(width / 1.6)])
        pdf.ln(5)
    pdf.output(str(out))
    return pdf.pages_count
