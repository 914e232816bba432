"""Chair detail: the chair's chart, alerts, events and the one-click actions of a session."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard.actions import open_dialog, run_action, show_open_dialog
from dashboard.auth import current_user
from dashboard.chrome import play_alarm
from dashboard.figures import detail_figure
from dashboard.source import read_store
from dashboard.tiles import alert_lines, link_banner
from vitals.store import commands, queries
from vitals.verdict import discharge_verdict, session_baselines

RANGES = {"Last 15 min": timedelta(minutes=15), "Last hour": timedelta(hours=1), "Session": None}
ONE_CLICK_EVENTS = {
    "Dose given": "dose",
    "Infusion start": "infusion-start",
    "Infusion stop": "infusion-stop",
    "BP check requested": "bp-check",
}


def chair_page() -> None:
    chairs = read_store(queries.chairs)
    if chairs is None:
        return
    if chairs.empty:
        st.info("No chairs configured yet.")
        return
    ids = list(chairs.chair)
    names = dict(zip(chairs.chair, chairs.name, strict=True))
    chosen = st.session_state.get("detail_chair", ids[0])
    chair = st.selectbox(
        "Chair", ids, index=ids.index(chosen) if chosen in ids else 0, format_func=names.get
    )
    st.session_state["detail_chair"] = chair
    window = st.radio("Range", list(RANGES), horizontal=True, key="detail_range")
    chair_live(chair, names[chair], window)
    session_actions(chair)


@st.fragment(run_every=timedelta(seconds=1))
def chair_live(chair: str, name: str, window: str) -> None:
    now = pd.Timestamp.now(tz="UTC")
    found = read_store(lambda conn: _chair_data(conn, chair, window, now))
    if found is None:
        return
    session, start, readings, episodes, visible, states, events, baselines, verdict = found
    banner = link_banner(list(states[states.chair == chair].itertuples(index=False)))
    if banner:
        st.warning(banner, icon="🔌")
    play_alarm([e.level for e in visible.itertuples() if not isinstance(e.acked_by, str)])
    for level, text in alert_lines(visible):
        {"critical": st.error, "warning": st.warning, "advisory": st.info}[level](text)
    unacked = [int(e.id) for e in visible.itertuples() if not isinstance(e.acked_by, str)]
    if unacked and st.button("Acknowledge", type="primary", key=f"ack-detail-{chair}"):
        open_dialog("acknowledge", name, unacked, list(visible[visible.id.isin(unacked)].reason))
    if session:
        st.markdown(
            f"**{session.patient}** · {session.protocol} · started "
            f"{session.started:%H:%M} UTC by {session.started_by}"
        )
        for base in baselines.values():
            shown = "none" if base.value is None else f"{base.value:g}"
            st.caption(f"Baseline {base.param.value.upper()} {shown}: {base.source}")
        st.caption(f"Discharge: {verdict}")
    rules = session.rules.rules if session else ()
    thresholds = [
        (r.param.value, lvl.label, r.threshold(lvl))
        for r in rules
        if not r.relative
        for lvl, _ in r.tiers
    ]
    base_values = {b.param.value: b.value for b in baselines.values() if b.value is not None}
    in_window = episodes[(episodes.ended.isna()) | (episodes.ended >= start)]
    figure = detail_figure(readings, in_window, events, thresholds, base_values, start, now)
    st.plotly_chart(figure, key=f"detail-{chair}", width="stretch")
    show_open_dialog()
    st.dataframe(
        in_window[
            ["level", "kind", "rule", "started", "ended", "peak_value", "reason", "acked_by"]
        ].sort_values("started", ascending=False),
        hide_index=True,
        width="stretch",
    )


def _chair_data(conn, chair: str, window: str, now: pd.Timestamp) -> tuple:
    session = queries.active_session(conn, chair)
    start = _window_start(window, session, now)
    return (
        session,
        start,
        queries.chart_readings(conn, chair, start.to_pydatetime()),
        queries.episodes(conn, chair=chair, since=start.to_pydatetime()),
        queries.visible_episodes(conn, chair=chair),
        queries.device_states(conn),
        queries.events(conn, session.id) if session else _no_events(),
        session_baselines(conn, session) if session else {},
        discharge_verdict(conn, session.id, now.to_pydatetime()) if session else None,
    )


def _window_start(window: str, session, now: pd.Timestamp) -> pd.Timestamp:
    span = RANGES[window]
    if span is None:
        return pd.Timestamp(session.started) if session else now - timedelta(hours=2)
    return now - span


def _no_events() -> pd.DataFrame:
    return pd.DataFrame({"time": pd.Series(dtype="datetime64[ns, UTC]"), "kind": []})


def session_actions(chair: str) -> None:
    """Log events in one click; end the session with its discharge verdict."""
    session = read_store(lambda conn: queries.active_session(conn, chair))
    if session is None:
        st.info("No session on this chair: start one on the Sessions page.")
        return
    st.subheader("Log an event")
    buttons = st.columns(len(ONE_CLICK_EVENTS))
    for column, (label, kind) in zip(buttons, ONE_CLICK_EVENTS.items(), strict=True):
        if column.button(label, key=f"event-{kind}", width="stretch"):
            run_action(
                commands.add_event, session.id, kind, current_user(), success=f"{label} logged"
            )
    with st.form("event-form", clear_on_submit=True):
        kind = st.selectbox("Event", ["medication", "symptom", "dissociation", "note"])
        text = st.text_input("What (medication name and dose, symptom, or note)")
        value = st.number_input(
            "Value (dose in mg, or dissociation score)", value=None, min_value=0.0
        )
        if st.form_submit_button("Log"):
            run_action(
                commands.add_event,
                session.id,
                kind,
                current_user(),
                text,
                value,
                success=f"{kind} logged",
            )
    if st.button("End session…", key="end-session"):
        open_dialog("end-session", session.id)
        st.rerun()
