"""Human actions from the page, each written at once through the core's command functions.

Dialogs are kept open in session state, not only by the click that opened them, because the
live parts of a page rerun every second and would otherwise close a nurse's half-typed
acknowledgment.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dashboard.auth import current_user
from dashboard.source import db_path, read_store
from vitals.errors import ChairsideError
from vitals.reading import utc_now
from vitals.review import keep_summaries
from vitals.store import commands
from vitals.verdict import discharge_verdict

DIALOG_KEY = "open_dialog"


def open_dialog(name: str, *args: object) -> None:
    st.session_state[DIALOG_KEY] = (name, args)


def close_dialog() -> None:
    st.session_state.pop(DIALOG_KEY, None)


def show_open_dialog() -> None:
    """Call at the end of a page (or live fragment): re-shows the dialog a nurse opened."""
    if DIALOG_KEY in st.session_state:
        name, args = st.session_state[DIALOG_KEY]
        DIALOGS[name](*args)


def run_action(action: Callable, *args, success: str = "", **kwargs) -> bool:
    """Run a command; show its error as one line instead of a stack trace. True when done."""
    try:
        action(db_path(), *args, **kwargs)
    except ChairsideError as exc:
        st.error(str(exc))
        return False
    if success:
        st.toast(success)
    return True


@st.dialog("Acknowledge alerts", on_dismiss=close_dialog)
def acknowledge_dialog(chair_name: str, episode_ids: list[int], reasons: list[str]) -> None:
    st.markdown(f"**{chair_name}**")
    for reason in reasons:
        st.markdown(f"- {reason}")
    comment = st.text_input(
        "Comment (optional)", placeholder="e.g. doctor informed", key="ack-comment"
    )
    st.caption(
        "Acknowledging silences the alarm; the alert stays open until values recover. "
        f"Recorded as {current_user()}."
    )
    if st.button("Acknowledge", type="primary", key="ack-confirm"):
        done = all(
            run_action(commands.acknowledge, episode, current_user(), comment)
            for episode in episode_ids
        )
        if done:
            close_dialog()
            st.rerun()


@st.dialog("End session", on_dismiss=close_dialog)
def end_session_dialog(session_id: int) -> None:
    verdict = read_store(lambda conn: discharge_verdict(conn, session_id, utc_now()))
    if verdict is None:
        return
    (st.success if verdict.ready else st.warning)(str(verdict))
    ended = st.button("End session now", type="primary", key="end-confirm")
    if ended and run_action(commands.end_session, session_id, current_user(), str(verdict)):
        keep_summaries(db_path(), [session_id])
        close_dialog()
        st.rerun()


DIALOGS: dict[str, Callable[..., None]] = {
    "acknowledge": acknowledge_dialog,
    "end-session": end_session_dialog,
}
