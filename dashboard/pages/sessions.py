"""Sessions: start one on a free chair (protocol preset, dose, per-session overrides beside
the defaults), and see the open ones with their discharge readiness."""

from __future__ import annotations

import streamlit as st

from dashboard.actions import run_action
from dashboard.auth import current_user
from dashboard.source import read_store
from dashboard.thresholds import threshold_editor
from vitals.clinical import load_protocol, protocol_names
from vitals.reading import utc_now
from vitals.store import commands, queries
from vitals.verdict import discharge_verdict


def sessions_page() -> None:
    st.title("Sessions")
    found = read_store(_sessions)
    if found is None:
        return
    chairs, open_now, verdicts = found
    start_form(sorted(set(chairs.chair) - set(open_now.chair)))
    st.subheader("Open sessions")
    if open_now.empty:
        st.caption("None.")
    for s in open_now.itertuples():
        st.markdown(
            f"**{s.chair}** — {s.patient} · {s.protocol} · started {s.started:%H:%M} UTC "
            f"by {s.started_by}"
        )
        st.caption(verdicts[s.session])


def _sessions(conn) -> tuple:
    chairs = queries.chairs(conn)
    open_now = queries.open_sessions(conn)
    verdicts = {s: str(discharge_verdict(conn, s, utc_now())) for s in open_now.session}
    return chairs, open_now, verdicts


def start_form(free_chairs: list[str]) -> None:
    st.subheader("Start a session")
    if not free_chairs:
        st.caption("Every chair has an open session.")
        return
    chair = st.selectbox("Chair", free_chairs)
    protocol = st.selectbox("Protocol", protocol_names())
    preset = load_protocol(protocol)
    st.caption(preset.title)
    patient = st.text_input("Patient reference (pseudonymous code, never a name)")
    weight = dose = None
    if "weight_kg" in preset.requires:
        weight = st.number_input("Weight (kg)", min_value=20.0, max_value=300.0, value=None)
    if preset.allowed_doses_mg:
        dose = st.selectbox("Dose (mg)", preset.allowed_doses_mg)
    st.markdown(
        "Thresholds for this session (defaults from the protocol; fill *override* to change)"
    )
    overrides = threshold_editor(protocol, key=f"thresholds-{protocol}")
    if st.button("Start session", type="primary"):
        started = run_action(
            commands.start_session,
            chair,
            patient.strip(),
            protocol,
            current_user(),
            weight_kg=weight,
            dose_mg=dose,
            overrides=overrides,
            success=f"Session started on {chair}",
        )
        if started:
            st.rerun()
