"""The app's pages, built once per run, so any page can send the nurse to another one.

Every page keeps its address in every state — signed out, locked, signed in — so a reload or
a bookmark never meets "page not found": signed out, each address asks for a sign-in that
comes back to it; locked, the overview still shows every chair and its alarms.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dashboard.auth import Station, current_station, lock_reason
from dashboard.chrome import locked_page, signed_out_page
from dashboard.source import central

# key: (title, Material icon — drawn from Streamlit's bundled font, no emoji font needed)
PAGES = {
    "overview": ("Overview", ":material/dashboard:"),
    "chair": ("Chair detail", ":material/monitor_heart:"),
    "sessions": ("Sessions", ":material/event_note:"),
    "review": ("Review", ":material/folder_open:"),
    "course": ("Course", ":material/timeline:"),
}
# A central store (PostgreSQL) is the group's record: review and courses across the sites.
# Live monitoring, sessions and acknowledgments stay on each site's own station, which never
# waits for the network.
CENTRAL = ("review", "course")


def pages() -> dict[str, st.Page]:
    from dashboard.pages.patient_form import open_form, patient_form_page

    if open_form() is not None:  # a tablet in a patient's hands reaches this form only
        return {"patient-form": st.Page(patient_form_page, title="Your form", default=True)}
    return _build(page_functions(current_station()), CENTRAL if central() else tuple(PAGES))


def page_functions(found: Station | None) -> dict[str, Callable[[], None]]:
    """What each address runs for this station: signed out, locked or signed in."""
    if found is None:
        return dict.fromkeys(PAGES, signed_out_page)
    runs = _page_functions()
    if lock_reason(found):
        runs = {key: run if key == "overview" else locked_page for key, run in runs.items()}
    return runs


def _page_functions() -> dict[str, Callable[[], None]]:
    # Imported here: the page modules import this one to navigate.
    from dashboard.pages.chair import chair_page
    from dashboard.pages.course import course_page
    from dashboard.pages.overview import overview_page
    from dashboard.pages.review import review_page
    from dashboard.pages.sessions import sessions_page

    return {
        "overview": overview_page,
        "chair": chair_page,
        "sessions": sessions_page,
        "review": review_page,
        "course": course_page,
    }


def _build(runs: dict[str, Callable[[], None]], shown: tuple[str, ...]) -> dict[str, st.Page]:
    """The pages ``shown``, the first of them at the app's root address."""
    return {
        key: st.Page(
            runs[key],
            title=PAGES[key][0],
            icon=PAGES[key][1],
            url_path=None if key == "overview" else key,
            default=key == shown[0],
        )
        for key in shown
    }


def open_chair(chair: str) -> None:
    """Show one chair's detail page."""
    st.session_state["detail_chair"] = chair
    st.switch_page(pages()["chair"])
