"""The chair page's part of the treatment course: the nurse rates the protocol's scales,
enters the PHQ-9 or side-effect checklist herself, or hands the tablet to the patient for it."""

from __future__ import annotations

import streamlit as st

from dashboard.actions import run_action
from dashboard.auth import current_user
from dashboard.pages.patient_form import (
    FORMS,
    hand_to_patient,
    phq9_form,
    side_effects_form,
)
from dashboard.source import read_store
from vitals.questionnaires import Phq9
from vitals.scales import Scale, protocol_scales
from vitals.store import queries
from vitals.store.measures import record_score


def course_measures(session) -> None:
    """Scales, then the patient-reported forms, under the chair page's event log."""
    scales = protocol_scales(session.protocol)
    if scales:
        _scales_form(session.id, scales)
    _phq9_warning(session.id)
    st.subheader("Patient forms")
    left, right = st.columns(2)
    for column, (form, title) in zip((left, right), FORMS.items(), strict=True):
        if column.button(f"Hand the tablet to the patient: {title}", key=f"hand-{form}"):
            hand_to_patient(session.id, form, current_user())
            st.rerun()
    with st.expander("Enter the PHQ-9 for the patient"):
        if phq9_form(session.id, current_user()):
            st.toast("PHQ-9 saved")
    with st.expander("Enter the side-effect checklist for the patient"):
        if side_effects_form(session.id, current_user()):
            st.toast("Side-effect checklist saved")


def _scales_form(session_id: int, scales: tuple[Scale, ...]) -> None:
    st.subheader("Scales")
    with st.form("scales-form", clear_on_submit=True):
        columns = st.columns(len(scales))
        scores = {
            s.name: _score_input(column, s) for column, s in zip(columns, scales, strict=True)
        }
        if not st.form_submit_button("Log scores"):
            return
    entered = {name: v for name, v in scores.items() if v is not None}
    for name, value in entered.items():
        run_action(record_score, session_id, name, value, current_user(), success=f"{name} logged")
    if not entered:
        st.warning("Choose at least one score.")


def _score_input(column, scale: Scale) -> float | None:
    if scale.labels:
        return column.selectbox(
            scale.title,
            [float(v) for v in range(int(scale.low), int(scale.high) + 1)],
            index=None,
            format_func=scale.label,
            key=f"scale-{scale.name}",
        )
    return column.number_input(
        f"{scale.title} ({scale.low:g}-{scale.high:g})",
        min_value=scale.low,
        max_value=scale.high,
        value=None,
        step=1.0,
        key=f"scale-{scale.name}",
    )


def _phq9_warning(session_id: int) -> None:
    """Item 9 (thoughts of death or self-harm) above 0 needs a clinician before discharge."""
    events = read_store(lambda conn: queries.events(conn, session_id))
    if events is None:
        return
    for text in events[events.kind == "phq9"].text:
        if Phq9.from_event_text(text).self_harm_flag:
            st.error(
                "PHQ-9 question 9 (thoughts of death or self-harm) was answered above "
                "'Not at all': a clinician must assess the patient before they leave."
            )
            return
