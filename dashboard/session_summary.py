"""What a nurse sees right after ending a session: that it ended, and how it went."""

from __future__ import annotations

import streamlit as st

from dashboard.plain import md
from dashboard.source import read_store, zone
from vitals.clinic_time import clock
from vitals.reading import utc_now
from vitals.review import session_summary
from vitals.wording import monitor_number, protocol_label

ENDED_KEY = "ended_session"


def remember_ended(session_id: int) -> None:
    st.session_state[ENDED_KEY] = session_id


def ended_summary() -> None:
    """The summary of the session this nurse just ended, until she closes it."""
    session_id = st.session_state.get(ENDED_KEY)
    if session_id is None:
        return
    row = read_store(lambda conn: session_summary(conn, session_id, utc_now()))
    if row is None:
        return
    with st.container(border=True, key="ended-summary"):
        st.success(
            md(
                f"Session ended: {row['patient']} · {protocol_label(row['protocol'])} · "
                f"started {clock(row['started'], zone())} · {row['duration_min']:.0f} min"
            ),
            icon=":material/task_alt:",
        )
        cols = st.columns(4)
        cols[0].metric("Peak SBP", _peak(row, "sbp"))
        cols[1].metric("Peak HR", _peak(row, "hr"))
        alerts = [f"{row[f'alerts_{lv}']} {lv}" for lv in ("critical", "warning", "advisory")]
        cols[2].metric("Alerts", ", ".join(alerts))
        cols[3].metric("Not acknowledged", row["unacknowledged"])
        st.caption(md(f"Discharge: {row['discharge']}"))
        if st.button("Close summary", key="close-ended"):
            st.session_state.pop(ENDED_KEY, None)
            st.rerun()


def _peak(row: dict, param: str) -> str:
    value, minutes = row[f"peak_{param}"], row[f"peak_{param}_min"]
    if value is None:
        return "—"
    return f"{monitor_number(value)} at {minutes:+.0f} min"
