"""Human actions from the page, each written at once through the core's command functions.

Dialogs are kept open in session state, not only by the click that opened them, because the
live parts of a page rerun every second and would otherwise close a nurse's half-typed
acknowledgment. For the same reason a dialog reads the store on every rerun: what it shows
is what is true now, not what was true when it opened.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard.auth import current_user, note_use
from dashboard.plain import md
from dashboard.session_summary import remember_ended
from dashboard.source import db_path, log, read_store
from dashboard.tiles import LEVEL_ORDER
from vitals.errors import ChairsideError
from vitals.reading import utc_now
from vitals.review import keep_summaries
from vitals.store import commands, queries
from vitals.verdict import discharge_verdict
from vitals.wording import alert_summary, chair_label

DIALOG_KEY = "open_dialog"
SEEN_KEY = "ack_seen"  # episode id -> the level the nurse has had in front of her


def open_dialog(name: str, *args: object) -> None:
    note_use()
    st.session_state[DIALOG_KEY] = (name, args)
    st.session_state.pop(SEEN_KEY, None)


def close_dialog() -> None:
    st.session_state.pop(DIALOG_KEY, None)
    st.session_state.pop(SEEN_KEY, None)


def show_open_dialog() -> None:
    """Call at the end of a page (or live fragment): re-shows the dialog a nurse opened."""
    if DIALOG_KEY in st.session_state:
        name, args = st.session_state[DIALOG_KEY]
        DIALOGS[name](*args)


def run_action(action: Callable, *args, success: str = "", **kwargs) -> bool:
    """Run a command; show its error as one line instead of a stack trace. True when done."""
    note_use()
    try:
        action(db_path(), *args, **kwargs)
    except ChairsideError as exc:
        log.warning("%s refused: %s", action.__name__, exc)
        st.error(md(exc))
        return False
    log.info("%s %s by %s", action.__name__, args[0] if args else "", current_user())
    if success:
        st.toast(md(success))
    return True


def unacknowledged(conn, chair: str) -> pd.DataFrame:
    """The chair's alerts waiting for a nurse, most severe first."""
    visible = queries.visible_episodes(conn)
    mine = visible[(visible.chair == chair) & visible.acked_by.isna()]
    return mine.assign(rank=mine.level.map(LEVEL_ORDER)).sort_values(
        ["rank", "started"], ascending=[False, True]
    )


def changes(seen: dict[int, str], now: pd.DataFrame) -> dict[int, str]:
    """What is different from what the nurse saw: new alerts, and alerts that escalated."""
    found = {}
    for e in now.itertuples():
        before = seen.get(int(e.id))
        if before is None:
            found[int(e.id)] = "NEW since you opened this"
        elif before != e.level:
            found[int(e.id)] = f"ESCALATED from {before} to {e.level}"
    return found


@st.dialog("Acknowledge alerts", on_dismiss=close_dialog)
def acknowledge_dialog(chair: str) -> None:
    found = read_store(lambda conn: (_chair_name(conn, chair), unacknowledged(conn, chair)))
    if found is None:
        return
    name, waiting = found
    seen = st.session_state.setdefault(SEEN_KEY, {int(e.id): e.level for e in waiting.itertuples()})
    st.markdown(f"**{md(name)}**")
    if waiting.empty:
        st.success("Nothing left to acknowledge on this chair.")
        return
    changed = changes(seen, waiting)
    for e in waiting.itertuples():
        flag = f" — **{changed[int(e.id)]}**" if int(e.id) in changed else ""
        st.markdown(f"- {e.level.upper()}: {md(alert_summary(e))}{flag}")
    if changed:
        st.warning("Alerts changed while this was open. Look at them, then confirm.")
        now_seen = {int(e.id): e.level for e in waiting.itertuples()}
        st.button(  # a callback: the next run already lists them as seen
            "I have seen the changes",
            key="ack-seen",
            on_click=lambda: st.session_state.update({SEEN_KEY: now_seen}),
        )
    comment = st.text_input(
        "Comment (optional)", placeholder="e.g. doctor informed", key="ack-comment"
    )
    st.caption(
        "Acknowledging silences the alarm; the alert stays open until values recover. "
        f"Recorded as {md(current_user())}."
    )
    confirmed = st.button("Acknowledge", type="primary", key="ack-confirm", disabled=bool(changed))
    if confirmed and _acknowledge(seen, comment):
        close_dialog()
        st.rerun()


def _acknowledge(seen: dict[int, str], comment: str) -> bool:
    """Every alert the nurse saw, at the level she saw (the store refuses a stale level)."""
    return all(
        run_action(commands.acknowledge, episode, current_user(), comment, level_seen=level)
        for episode, level in seen.items()
    )


def _chair_name(conn, chair: str) -> str:
    return queries.chair_names(conn).get(chair) or chair_label(chair)


REASON_ASKED = "end-reason-asked"  # the session whose nurse was asked why it ends early


@st.dialog("End session", on_dismiss=close_dialog)
def end_session_dialog(session_id: int) -> None:
    verdict = read_store(lambda conn: discharge_verdict(conn, session_id, utc_now()))
    if verdict is None:
        return
    (st.success if verdict.ready else st.warning)(md(verdict))
    reason = ""
    if not verdict.ready:
        reason = st.text_area(
            "Why end the session now? (kept in the record)",
            placeholder="e.g. patient left against advice; transferred with escort",
            key="end-reason",
        ).strip()
    pressed = st.button("End session now", type="primary", key="end-confirm")
    if not verdict.ready and not reason:
        # kept until a reason is typed: the live page's next rerun must not wipe it unread
        if pressed or st.session_state.get(REASON_ASKED) == session_id:
            st.session_state[REASON_ASKED] = session_id
            st.error("The patient is not yet ready for discharge: say why the session ends now.")
        return
    st.session_state.pop(REASON_ASKED, None)
    if pressed:
        record = str(verdict) if verdict.ready else f"{verdict} — ended before ready: {reason}"
        if run_action(commands.end_session, session_id, current_user(), record):
            remember_ended(session_id)
            keep_summaries(db_path(), [session_id])
            close_dialog()
            st.rerun()


DIALOGS: dict[str, Callable[..., None]] = {
    "acknowledge": acknowledge_dialog,
    "end-session": end_session_dialog,
}
