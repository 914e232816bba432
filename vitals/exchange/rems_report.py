"""The monitoring record on paper and as data: a one-page PDF laid out in the order of the
SPRAVATO REMS Patient Monitoring Form, and a CSV with one row per field.

Each row carries the answer, the time and minutes from the dose it rests on, the readings or
scores behind it, and whether it came from the record or is left for the nurse. Chairside
prepares the form; the clinic checks it, fills the nurse's fields and submits it to the REMS.
"""

from __future__ import annotations

import csv
import io
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from vitals.clinic_time import zone_name
from vitals.exchange.pdf_report import _text
from vitals.lazy import lazy
from vitals.rems import FOR_NURSE, Answer, MonitoringRecord
from vitals.times import iso_utc
from vitals.wording import protocol_label

fpdf = lazy("fpdf")
if TYPE_CHECKING:
    from fpdf import FPDF

CSV_COLUMNS = (
    "section",
    "question",
    "answer",
    "time_utc",
    "minutes_from_dose",
    "evidence",
    "status",
)
PDF_NAME, CSV_NAME = "rems-record.pdf", "rems-record.csv"
COLUMN_W = (60, 30, 100)  # question, answer, evidence (mm, A4 portrait less margins)


def csv_rows(record: MonitoringRecord) -> list[dict[str, str]]:
    return [
        {
            "section": a.section,
            "question": a.question,
            "answer": a.answer,
            "time_utc": iso_utc(a.time) if a.time else "",
            "minutes_from_dose": "" if a.minutes_from_dose is None else f"{a.minutes_from_dose:g}",
            "evidence": a.evidence,
            "status": FOR_NURSE if a.for_nurse else "from the record",
        }
        for a in record.answers
    ]


def csv_text(record: MonitoringRecord) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(csv_rows(record))
    return buffer.getvalue()


def write_csv(record: MonitoringRecord, out: Path) -> int:
    out.write_bytes(csv_text(record).encode("utf-8"))
    return len(record.answers)


def write_pdf(record: MonitoringRecord, out: Path) -> int:
    """One page: fonts shrink a step when the evidence is long, never a second page."""
    for size in (8.0, 7.0, 6.0, 5.0):
        pdf = _render(record, size)
        if pdf.pages_count == 1:
            break
    pdf.output(str(out))
    return pdf.pages_count


def _render(record: MonitoringRecord, size: float) -> FPDF:
    pdf = fpdf.FPDF(format="A4")
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(auto=True, margin=10)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 7, _text("SPRAVATO REMS Patient Monitoring Form - prepared by Chairside"))
    pdf.ln(7)
    pdf.set_font("Helvetica", "", 7.5)
    status = "ended" if record.ended else "STILL OPEN - answers as of preparation"
    pdf.multi_cell(
        0,
        3.6,
        _text(
            f"Session {record.session}, chair {record.chair}, patient reference "
            f"{record.patient}, {protocol_label(record.protocol)}; session {status}. Prepared "
            "for the clinic to check, complete and submit; Chairside does not submit it. Fields "
            "marked FOR THE NURSE cannot be answered from monitoring data. " + _times(record.zone)
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(1)
    section = None
    for answer in record.answers:
        if answer.section != section:
            section = answer.section
            pdf.set_font("Helvetica", "B", size + 1)
            pdf.cell(0, size * 0.6, _text(section), new_x="LMARGIN", new_y="NEXT")
        _row(pdf, answer, size)
    pdf.set_font("Helvetica", "", 6.5)
    pdf.ln(1)
    pdf.cell(0, 3, _text("Monitoring aid only - not a certified medical device."))
    return pdf


def _times(zone: tzinfo | None) -> str:
    """Which clock the form's times are on: the clinic's (as the nurse copies them) or UTC."""
    return "Times UTC." if zone is None else f"Times on the clinic's clock ({zone_name(zone)})."


def _row(pdf: FPDF, answer: Answer, size: float) -> None:
    shown = answer.answer or "FOR THE NURSE"
    cells = (answer.question, shown, answer.evidence)
    styles = ("", "B", "")
    height = size * 0.45
    pdf.set_font("Helvetica", "B", size)  # the widest style sets the height of the row
    lines = [
        len(pdf.multi_cell(w, height, _text(t), align="L", dry_run=True, output="LINES"))
        for w, t in zip(COLUMN_W, cells, strict=True)
    ]
    row_h = max(lines) * height
    x, y = pdf.get_x(), pdf.get_y()
    for width, text, style in zip(COLUMN_W, cells, styles, strict=True):
        pdf.set_font("Helvetica", style, size)
        pdf.set_xy(x, y)
        pdf.multi_cell(width, height, _text(text), border="T", align="L")
        x += width
    pdf.set_xy(pdf.l_margin, y + row_h + 0.6)
