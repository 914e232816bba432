"""Sessions: start one on a free chair (protocol preset, dose, per-session overrides beside
the defaults), and see the open ones with their discharge readiness."""

from __future__ import annotations

import streamlit as st

from dashboard.actions import run_action
from dashboard.auth import current_user
from dashboard.plain import md
from dashboard.source import read_store, zone
from dashboard.thresholds import threshold_editor
from vitals.clinic_time import clock
from vitals.clinical import ClinicalProtocol, load_protocol, protocol_names
from vitals.reading import utc_now
from vitals.sessions import PATIENT_REF
from vitals.store import commands, queries
from vitals.verdict import discharge_verdict
from vitals.wording import chair_label, protocol_label


def sessions_page() -> None:
    st.title("Sessions")
    found = read_store(_sessions)
    if found is None:
        return
    chairs, open_now, verdicts = found
    names = {c: chair_label(c, n) for c, n in zip(chairs.chair, chairs.name, strict=True)}
    free = [c for c in chairs.chair if c not in set(open_now.chair)]
    start_form(free, names)
    st.subheader("Open sessions")
    if open_now.empty:
        st.caption("No session is open.")
    for s in open_now.itertuples():
        st.markdown(
            md(
                f"{names.get(s.chair, s.chair)} — {s.patient} · {protocol_label(s.protocol)} · "
                f"started {clock(s.started, zone())} by {s.started_by}"
            )
        )
        st.caption(md(verdicts[s.session]))


def _sessions(conn) -> tuple:
    chairs = queries.chairs(conn)
    open_now = queries.open_sessions(conn)
    verdicts = {s: str(discharge_verdict(conn, s, utc_now())) for s in open_now.session}
    return chairs, open_now, verdicts


def start_form(free_chairs: list[str], names: dict[str, str]) -> None:
    st.subheader("Start a session")
    if not free_chairs:
        st.caption("Every chair has an open session.")
        return
    chair = st.selectbox("Chair", free_chairs, format_func=lambda c: names.get(c, c))
    protocol = st.selectbox("Protocol", protocol_names(), format_func=protocol_label)
    preset = load_protocol(protocol)
    st.caption(md(preset.title))
    patient = st.text_input("Patient reference (pseudonymous code, never a name)").strip()
    weight = dose = None
    if "weight_kg" in preset.requires:
        weight = st.number_input("Weight (kg)", min_value=20.0, max_value=300.0, value=None)
    if preset.allowed_doses_mg:
        dose = st.selectbox(
            "Dose (mg)", preset.allowed_doses_mg, format_func=lambda mg: f"{mg:g} mg"
        )
    st.markdown(
        "Thresholds for this session (defaults from the protocol; fill *Override* to change)"
    )
    overrides = threshold_editor(protocol, key=f"thresholds-{protocol}")
    if not st.button("Start session", type="primary"):
        return
    missing = what_is_missing(patient, weight, preset)
    if missing:
        st.error("Cannot start yet: " + "; ".join(missing) + ".")
        return
    started = run_action(
        commands.start_session,
        chair,
        patient,
        protocol,
        current_user(),
        weight_kg=weight,
        dose_mg=dose,
        overrides=overrides,
        success=f"Session started on {names.get(chair, chair)}",
    )
    if started:
        st.rerun()


def what_is_missing(patient: str, weight: float | None, preset: ClinicalProtocol) -> list[str]:
    """The form's gaps in plain words (the core would name command-line flags)."""
    missing = []
    if not patient:
        missing.append("enter the patient reference")
    elif not PATIENT_REF.match(patient):
        missing.append(
            "the patient reference must be a code of letters, digits, '.', '-' or '_' "
            "(no names, no spaces, at most 32 characters)"
        )
    if "weight_kg" in preset.requires and weight is None:
        per_kg = (
            f"; the dose is {preset.dose_mg_per_kg:g} mg per kg" if preset.dose_mg_per_kg else ""
        )
        missing.append(f"enter the patient's weight in kg (20–300){per_kg}")
    return missing
