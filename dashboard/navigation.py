"""The app's pages, built once per run, so any page can send the nurse to another one."""

from __future__ import annotations

import streamlit as st

from dashboard.auth import current_user, sign_in_page


def pages() -> dict[str, st.Page]:
    # Imported here: the page modules import this one to navigate.
    from dashboard.pages.chair import chair_page
    from dashboard.pages.course import course_page
    from dashboard.pages.overview import overview_page
    from dashboard.pages.patient_form import open_form, patient_form_page
    from dashboard.pages.review import review_page
    from dashboard.pages.sessions import sessions_page

    if open_form() is not None:  # a tablet in a patient's hands reaches this form only
        return {"patient-form": st.Page(patient_form_page, title="Your form", default=True)}
    if current_user() is None:
        return {"sign-in": st.Page(sign_in_page, title="Sign in", icon="🔑", default=True)}
    return {
        "overview": st.Page(overview_page, title="Overview", icon="🏥", default=True),
        "chair": st.Page(chair_page, title="Chair detail", icon="📈", url_path="chair"),
        "sessions": st.Page(sessions_page, title="Sessions", icon="📝", url_path="sessions"),
        "review": st.Page(review_page, title="Review", icon="🗂️", url_path="review"),
        "course": st.Page(course_page, title="Course", icon="📊", url_path="course"),
    }


def open_chair(chair: str) -> None:
    """Show one chair's detail page."""
    st.session_state["detail_chair"] = chair
    st.switch_page(pages()["chair"])
