"""Course: one patient across their sessions, for the prescriber deciding on the next dose."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from dashboard.course_figures import course_measures_figure
from dashboard.figures import course_figure
from dashboard.review_tables import COURSE_COLUMNS, course_rows
from dashboard.source import db_path, read_store, zone
from dashboard.tables import show
from vitals.course_measures import course_table
from vitals.exchange.course_report import course_pdf
from vitals.reading import utc_now
from vitals.review import patients

# The download keeps every figure as a number, and its times in UTC as every export does.
CSV_COLUMNS = {
    "session": "Session",
    "started": "Started (UTC)",
    "protocol": "Protocol",
    "chair": "Chair",
    "baseline_sbp": "Pre-dose SBP",
    "baseline_dbp": "Pre-dose DBP",
    "peak_sbp": "Peak SBP",
    "rise_sbp": "SBP rise",
    "peak_dbp": "Peak DBP",
    "rise_dbp": "DBP rise",
    "back_to_baseline_min": "Back near baseline (min after dose)",
    "still_raised_at_end": "Still raised at the end",
    "alerts_advisory": "Advisory",
    "alerts_warning": "Warning",
    "alerts_critical": "Critical",
    "dissociation_max": "Dissociation (max)",
    "side_effects": "Side effects (severity)",
    "phq9_total": "PHQ-9",
    "phq9_change_pct": "PHQ-9 change from first (%)",
    "phq9_response": "Response",
    "phq9_remission": "Remission",
    "phq9_self_harm": "PHQ-9 item 9 above 0",
    "sedation_lowest_moaas": "Lowest MOAA/S",
}


def course_page() -> None:
    st.title("Course")
    known = read_store(patients)
    if known is None:
        return
    if not known:
        st.info("No sessions recorded yet.")
        return
    patient = st.selectbox("Patient reference", known)
    rows = read_store(lambda conn: course_table(conn, patient, utc_now(), keep=db_path()))
    if rows is None:
        return
    st.caption(
        f"{len(rows)} session(s). Rise = peak minus the pre-dose baseline; back near baseline = "
        "from when SBP stayed within the protocol's discharge margin of its baseline (0 min: "
        "it never left it; — : no dose or no baseline to judge by)."
    )
    st.plotly_chart(course_figure(rows, zone()), key=f"course-{patient}", width="stretch")
    st.subheader("Depression and side effects")
    st.plotly_chart(course_measures_figure(rows), key=f"course-measures-{patient}", width="stretch")
    shown = course_rows(rows, zone())  # a Site column on a central store only
    show(shown, {name: kind for name, kind in COURSE_COLUMNS.items() if name in shown})
    table = rows[list(CSV_COLUMNS)].rename(columns=CSV_COLUMNS)
    st.download_button(
        "course.csv",
        table.to_csv(index=False).encode(),
        file_name=f"course-{patient}.csv",
        mime="text/csv",
    )
    st.download_button(
        "course.pdf", _pdf(rows, patient), file_name=f"course-{patient}.pdf", mime="application/pdf"
    )


def _pdf(rows, patient: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "course.pdf"
        course_pdf(rows, patient, out, zone())
        return out.read_bytes()
