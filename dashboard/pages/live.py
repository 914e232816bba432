"""Live page: every chair's alerts, latest values with their ages and a trend, each second."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard.figures import trend_figure
from dashboard.source import open_store
from dashboard.tiles import (
    alert_lines,
    link_banner,
    recorder_banner,
    session_line,
    shown_nibp,
    shown_value,
)
from vitals.baseline import Baseline
from vitals.errors import ChairsideError
from vitals.reading import Param
from vitals.store import queries
from vitals.verdict import session_baselines

TREND_WINDOW = timedelta(minutes=30)
COLUMNS = 2
ALERT_BOXES = {"critical": st.error, "warning": st.warning, "advisory": st.info}
ALERT_ICONS = {"critical": "🚨", "warning": "⚠️", "advisory": "ℹ️"}


def live_page() -> None:
    st.title("Chairs — live")
    st.caption("Monitoring aid only — not a certified medical device. Check the bedside monitor.")
    live_view()


@st.fragment(run_every=timedelta(seconds=1))
def live_view() -> None:
    try:
        conn = open_store()
    except ChairsideError as exc:
        st.error(str(exc))
        return
    try:
        show_chairs(conn, pd.Timestamp.now(tz="UTC"))
    finally:
        conn.close()


def show_chairs(conn, now: pd.Timestamp) -> None:
    banner = recorder_banner(queries.heartbeat(conn), now)
    if banner:
        st.error(banner, icon="⛔")
    chairs = queries.chairs(conn)
    if chairs.empty:
        st.info("No chairs configured yet.")
        return
    latest = queries.latest_readings(conn)
    states = queries.device_states(conn).set_index("chair")
    alerts = queries.visible_episodes(conn)
    sessions = queries.sessions(conn)
    open_sessions = sessions[sessions.ended.isna()].set_index("chair")
    columns = st.columns(COLUMNS)
    for i, chair in enumerate(chairs.itertuples()):
        with columns[i % COLUMNS].container(border=True):
            st.subheader(chair.name)
            session = open_sessions.loc[chair.chair] if chair.chair in open_sessions.index else None
            st.caption(session_line(session, now, sbp_baseline(conn, session)))
            for level, text in alert_lines(alerts[alerts.chair == chair.chair]):
                ALERT_BOXES[level](text, icon=ALERT_ICONS[level])
            state = states.loc[chair.chair] if chair.chair in states.index else None
            banner = link_banner(state)
            if banner:
                st.warning(banner, icon="🔌")
            since = (now - TREND_WINDOW).to_pydatetime()
            chair_values(latest[latest.chair == chair.chair], now)
            chair_trend(chair.chair, queries.readings_between(conn, chair.chair, since))


def sbp_baseline(conn, session: pd.Series | None) -> Baseline | None:
    if session is None:
        return None
    found = session_baselines(conn, queries.session_by_id(conn, int(session.session)))
    return found.get(Param.SBP)


def chair_values(latest: pd.DataFrame, now: pd.Timestamp) -> None:
    cells = st.columns(3)
    for cell, label, shown in (
        (cells[0], "HR (bpm)", shown_value(latest, "hr", now)),
        (cells[1], "SpO₂ (%)", shown_value(latest, "spo2", now)),
        (cells[2], "NIBP S/D (MAP) mmHg", shown_nibp(latest, now)),
    ):
        cell.metric(label, f"{shown.text} (old)" if shown.stale else shown.text)
        cell.caption(f":grey[{shown.age} — not current]" if shown.stale else shown.age)


def chair_trend(chair: str, recent: pd.DataFrame) -> None:
    if recent.empty:
        st.caption("No readings in the last 30 minutes.")
    else:
        st.plotly_chart(trend_figure(recent), key=f"trend-{chair}", width="stretch")
