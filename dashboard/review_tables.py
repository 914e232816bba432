"""The Review and Course tables as a clinician or auditor reads them: the figures that decide
first, one row a session, no column the page cannot hold (the full figures stay in the CSV
and in the chosen session's summary)."""

from __future__ import annotations

from datetime import tzinfo

import pandas as pd
import streamlit as st

from dashboard.tables import DAY_AND_TIME, Columns, local_datetimes, vital
from vitals.wording import chair_label, chair_site, param_label, protocol_label, signed_number

LEVELS = ("critical", "warning", "advisory")


def alert_counts(row) -> str:
    """Clinical alerts by level; technical ones (no data, a monitor disconnected) are in the
    session's log, so an empty count must not read as "nothing happened"."""
    counts = [f"{row[f'alerts_{level}']} {level}" for level in LEVELS if row[f"alerts_{level}"]]
    return ", ".join(counts) or "no clinical alert"


def peak(value, minutes) -> str | None:
    """ "176 at 12 min" — the peak and when it came after the dose."""
    shown = vital(value)
    if shown is None:
        return None
    if minutes is None or pd.isna(minutes):
        return shown
    return f"{shown} at {round(minutes)} min"  # a whole minute: never "-0 min" just before it


RUNNING = "Running"


def discharge_short(verdict: str, ended) -> str:
    """The verdict at the session's end; a running session has no end to judge at yet (its
    verdict is only "so far" and must not read as a patient never ready to leave)."""
    if ended is None or pd.isna(ended):
        return RUNNING
    return "Not yet ready" if str(verdict).startswith("not") else "Ready"


def session_rows(sessions: pd.DataFrame, chair_names: dict, zone: tzinfo) -> pd.DataFrame:
    """The session list, one row a session, in the order of ``sessions``: its alerts first
    (what an auditor looks for), then when, who, where, the peaks and the discharge."""
    if sessions.empty:
        return pd.DataFrame(columns=["session", *SESSION_COLUMNS])
    peaks = {
        f"Peak {param_label(p)}": [
            peak(v, m)
            for v, m in zip(sessions[f"peak_{p}"], sessions[f"peak_{p}_min"], strict=True)
        ]
        for p in ("sbp", "dbp", "hr")
    }
    rows = pd.DataFrame(
        {
            "session": sessions.session,
            "Alerts": sessions.apply(alert_counts, axis=1),
            "Not acknowledged": sessions.unacknowledged,
            "Started": local_datetimes(sessions.started, zone),
            "Patient": sessions.patient,
            "Chair": sessions.chair.map(lambda c: chair_names.get(c) or chair_label(c)),
            "Protocol": sessions.protocol.map(protocol_label),
            **peaks,
            "To acknowledge": sessions.ack_median_min,
            "Discharge": [
                discharge_short(v, e)
                for v, e in zip(sessions.discharge, sessions.ended, strict=True)
            ],
        }
    )
    return rows.reset_index(drop=True)


# Pixel widths: the list fits a 1440 px screen without scrolling sideways.
SESSION_COLUMNS: Columns = {
    "Alerts": st.column_config.TextColumn(
        help="Clinical alerts by level; technical alerts (no data, a monitor disconnected) "
        "are in the session's alert log",
        width=150,
    ),
    "Not acknowledged": st.column_config.NumberColumn(
        "Not ack.", help="Warning and critical alerts never acknowledged", width=64
    ),
    "Started": st.column_config.DatetimeColumn(format=DAY_AND_TIME, width=150),
    "Patient": st.column_config.TextColumn(width=86),
    "Chair": st.column_config.TextColumn(width=120),
    "Protocol": st.column_config.TextColumn(width=140),
    "Peak SBP": st.column_config.TextColumn(help="mmHg, minutes after the dose", width=96),
    "Peak DBP": st.column_config.TextColumn(help="mmHg, minutes after the dose", width=96),
    "Peak HR": st.column_config.TextColumn(help="bpm, minutes after the dose", width=96),
    "To acknowledge": st.column_config.NumberColumn(
        "Ack. time",
        help="Median minutes from a warning or critical alert to its acknowledgment",
        format="%.0f min",
        width=72,
    ),
    "Discharge": st.column_config.TextColumn(
        help="At the session's end; Running: the patient is still in the chair, not judged yet",
        width=104,
    ),
}


def pair(a, b, signed: bool = False) -> str | None:
    """ "128/82" (or "+12/+8" for rises); None when either is missing."""
    if a is None or b is None or pd.isna(a) or pd.isna(b):
        return None
    if signed:
        return f"{signed_number(a)}/{signed_number(b)}"
    return f"{vital(a)}/{vital(b)}"


def back_near_baseline(minutes, still_raised, running: bool = False) -> str | None:
    if bool(still_raised):
        return "still raised at the latest reading" if running else "still raised at the end"
    if minutes is None or pd.isna(minutes):
        return None
    return "never left it" if minutes == 0 else f"{minutes:.0f} min after the dose"


def course_rows(course: pd.DataFrame, zone: tzinfo) -> pd.DataFrame:
    """One patient's sessions, oldest first, as the prescriber compares them; on a central
    store, with the site of each (one course across a group's clinics)."""
    sites = course.chair.map(chair_site)
    where = {"Site": sites} if sites.astype(bool).any() else {}
    return pd.DataFrame(
        {
            "Started": local_datetimes(course.started, zone),
            **where,
            "Protocol": course.protocol.map(protocol_label),
            "Pre-dose BP": [
                pair(s, d) for s, d in zip(course.baseline_sbp, course.baseline_dbp, strict=True)
            ],
            "Peak BP": [pair(s, d) for s, d in zip(course.peak_sbp, course.peak_dbp, strict=True)],
            "Rise": [
                pair(s, d, signed=True)
                for s, d in zip(course.rise_sbp, course.rise_dbp, strict=True)
            ],
            "Back near baseline": [
                back_near_baseline(m, r)
                for m, r in zip(
                    course.back_to_baseline_min, course.still_raised_at_end, strict=True
                )
            ],
            "Alerts": course.apply(alert_counts, axis=1),
            "Dissociation": course.dissociation_max,
            "Side effects": course.side_effects.replace("", None),
        }
    )


COURSE_COLUMNS: Columns = {
    "Started": st.column_config.DatetimeColumn(format=DAY_AND_TIME, width="medium"),
    "Site": st.column_config.TextColumn(width="small"),
    "Protocol": st.column_config.TextColumn(width="small"),
    "Pre-dose BP": st.column_config.TextColumn(help="Baseline SBP/DBP, mmHg", width="small"),
    "Peak BP": st.column_config.TextColumn(help="Highest SBP/DBP, mmHg", width="small"),
    "Rise": st.column_config.TextColumn(help="Peak minus pre-dose, mmHg", width="small"),
    "Back near baseline": st.column_config.TextColumn(
        help="From when SBP stayed within the protocol's discharge margin of its baseline",
        width="medium",
    ),
    "Alerts": st.column_config.TextColumn(width="medium"),
    "Dissociation": st.column_config.NumberColumn(
        help="Highest dissociation score logged", format="%g", width="small"
    ),
    "Side effects": st.column_config.TextColumn("Side effects (severity)", width=300),
}
