"""The patient's own page on a tablet: the PHQ-9 before a session or the side-effect checklist
after it, for one session, and nothing else.

A nurse opens it from the chair page for the session in that chair; from then on this station
(the browser her cookie names, reloads included) shows one form, with no navigation, no chair,
no patient reference and no way to another page: the router offers this page alone while the
form is open. Saving closes the form; only a nurse's password gives the station back. What
the patient enters is stored as session events by "patient (tablet; opened by ...)".
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard import station
from dashboard.auth import check_password, current_station
from dashboard.signin_limits import attempt
from dashboard.source import db_path
from vitals.errors import ChairsideError
from vitals.questionnaires import (
    PHQ9_ANSWERS,
    PHQ9_ITEMS,
    PHQ9_STEM,
    SEVERITIES,
    SIDE_EFFECTS,
    Phq9,
)
from vitals.store.measures import record_phq9, record_side_effects

FORM_KEY = "patient_form"
FORMS = {"phq9": "How you have been feeling (PHQ-9)", "side-effects": "How you feel now"}


@dataclass(frozen=True)
class OpenForm:
    """The only thing this browser may do: fill ``form`` for ``session``."""

    session: int
    form: str
    opened_by: str
    done: bool = False


def hand_to_patient(session: int, form: str, nurse: str) -> None:
    """Open the form on this browser for the patient and sign the nurse out of it."""
    if form not in FORMS:
        raise ValueError(f"unknown patient form {form!r}")
    _keep(OpenForm(session, form, nurse))


def open_form() -> OpenForm | None:
    """The form this station is locked to: kept per station (over reloads), else per browser
    session (a station without a cookie, as in AppTest)."""
    found = current_station()
    held = station.handed_over(found.station_id) if found else None
    return held if isinstance(held, OpenForm) else st.session_state.get(FORM_KEY)


def _keep(form: OpenForm) -> None:
    st.session_state[FORM_KEY] = form
    found = current_station()
    if found is not None:
        station.hand_over(found.station_id, form)


def _give_back() -> None:
    st.session_state.pop(FORM_KEY, None)
    found = current_station()
    if found is not None:
        station.take_back(found.station_id)


def patient_form_page() -> None:
    form = open_form()
    if form is None:  # reached without a nurse opening it: there is nothing to show
        st.info("Please ask your nurse to open your form.")
        return
    if form.done:
        _thank_you()
        return
    st.title(FORMS[form.form])
    by = f"patient (tablet; opened by {form.opened_by})"
    fill = phq9_form if form.form == "phq9" else side_effects_form
    if fill(form.session, by):
        _keep(OpenForm(form.session, form.form, form.opened_by, True))
        st.rerun()


def phq9_form(session: int, by: str) -> bool:
    """The PHQ-9 for ``session``; True once saved."""
    st.markdown(PHQ9_STEM)
    with st.form(f"phq9-{session}"):
        answers = [
            st.radio(
                f"{n}. {item}",
                range(4),
                format_func=PHQ9_ANSWERS.__getitem__,
                index=None,
                key=f"phq9-{n}",
            )
            for n, item in enumerate(PHQ9_ITEMS, start=1)
        ]
        if not st.form_submit_button("Save my answers", type="primary"):
            return False
    if any(a is None for a in answers):
        st.warning("Please answer every question, then save again.")
        return False
    return _save(lambda: record_phq9(db_path(), session, Phq9(tuple(answers)), by))


def side_effects_form(session: int, by: str) -> bool:
    """The side-effect checklist for ``session``; True once saved."""
    st.markdown("Since your treatment today, have you had any of these? Choose how much.")
    with st.form(f"side-effects-{session}"):
        chosen = {
            name: st.radio(
                name,
                range(4),
                format_func=lambda s: SEVERITIES[s].capitalize(),
                horizontal=True,
                key=f"se-{name}",
            )
            for name in SIDE_EFFECTS
        }
        if not st.form_submit_button("Save my answers", type="primary"):
            return False
    return _save(lambda: record_side_effects(db_path(), session, chosen, by))


def _save(write) -> bool:
    try:
        write()
    except ChairsideError:
        st.error("Your answers could not be saved. Please hand the tablet back to your nurse.")
        return False
    return True


def _thank_you() -> None:
    st.success("Thank you — your answers are saved. Please hand the tablet back to your nurse.")
    if st.button("Nurse: sign in"):
        st.session_state["nurse_taking_back"] = True
    if st.session_state.get("nurse_taking_back"):
        _take_back_form()


def _take_back_form() -> None:
    """A nurse's own password gives the station back; nothing else does."""
    with st.form("take-back"):
        nurse = st.text_input("Nurse")
        password = st.text_input("Password", type="password")
        if not st.form_submit_button("Sign in", type="primary"):
            return
    if not attempt(nurse.strip(), lambda: check_password(nurse, password) is not None):
        return
    st.session_state.pop("nurse_taking_back", None)
    _give_back()
    st.rerun()
