"""Course: one patient across their sessions, for the prescriber deciding on the next dose."""

from __future__ import annotations

import streamlit as st

from dashboard.figures import course_figure
from dashboard.source import db_path, read_store
from vitals.reading import utc_now
from vitals.review import course, patients

COURSE_COLUMNS = {
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
    rows = read_store(lambda conn: course(conn, patient, utc_now(), keep=db_path()))
    if rows is None:
        return
    st.caption(
        f"{len(rows)} session(s). Rise = peak minus the pre-dose baseline; back near baseline = "
        "from when SBP stayed within the protocol's discharge margin of its baseline (0: it "
        "never left it; blank: not back before the session ended, or no dose or baseline)."
    )
    st.plotly_chart(course_figure(rows), key=f"course-{patient}", width="stretch")
    table = rows[list(COURSE_COLUMNS)].rename(columns=COURSE_COLUMNS)
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button(
        "course.csv",
        table.to_csv(index=False).encode(),
        file_name=f"course-{patient}.csv",
        mime="text/csv",
    )
