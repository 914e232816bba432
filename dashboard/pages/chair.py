"""Chair detail: the chair's chart, alerts, events and the one-click actions of a session."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard.actions import open_dialog, run_action, show_open_dialog
from dashboard.auth import current_user
from dashboard.chrome import play_alarm
from dashboard.figures import detail_figure
from dashboard.overview_model import build_tiles
from dashboard.plain import md
from dashboard.scale_entry import course_measures
from dashboard.session_summary import ended_summary
from dashboard.source import read_store, zone
from dashboard.station_alarm import sounding_elsewhere, station_levels
from dashboard.tables import EPISODE_COLUMNS, EVENT_COLUMNS, episode_rows, event_rows, show
from dashboard.tiles import alert_lines, link_banner
from dashboard.unused import HELP, TITLE, unused_table
from vitals.clinic_time import clock
from vitals.store import commands, queries
from vitals.verdict import discharge_verdict, session_baselines
from vitals.wording import chair_label, event_label, param_label, protocol_label, with_unit

RANGES = {"Last 15 min": timedelta(minutes=15), "Last hour": timedelta(hours=1), "Session": None}
ONE_CLICK_EVENTS = {
    "Dose given": "dose",
    "Infusion start": "infusion-start",
    "Infusion stop": "infusion-stop",
    "BP check requested": "bp-check",
}
# What each logged event needs, in the words of the form's error when it is missing.
EVENT_FORM = {
    "medication": ("text", "Say which medication and dose was given."),
    "symptom": ("text", "Say which symptom the patient has."),
    "dissociation": ("value", "Enter the dissociation score."),
    "note": ("text", "Write the note."),
}
ALERT_BOX = {"critical": st.error, "warning": st.warning, "advisory": st.info}


def chair_page() -> None:
    chairs = read_store(queries.chairs)
    if chairs is None:
        return
    ended_summary()
    if chairs.empty:
        st.info("No chairs configured yet.")
        return
    ids = list(chairs.chair)
    names = {c: chair_label(c, n) for c, n in zip(chairs.chair, chairs.name, strict=True)}
    chosen = st.session_state.get("detail_chair", ids[0])
    left, right = st.columns([1, 2])
    chair = left.selectbox(
        "Chair", ids, index=ids.index(chosen) if chosen in ids else 0, format_func=names.get
    )
    st.session_state["detail_chair"] = chair
    window = right.radio("Range", list(RANGES), horizontal=True, key="detail_range")
    chair_live(chair, window)
    session_actions(chair)


@st.fragment(run_every=timedelta(seconds=1))
def chair_live(chair: str, window: str) -> None:
    now = pd.Timestamp.now(tz="UTC")
    found = read_store(lambda conn: _chair_data(conn, chair, window, now))
    if found is None:
        return
    session, start, readings, episodes, visible, states, events, baselines, verdict, tiles = found
    banner = link_banner(list(states[states.chair == chair].itertuples(index=False)))
    if banner:
        st.warning(md(banner), icon=":material/cable:")
    play_alarm(station_levels(tiles))  # every chair's, as on the overview: never the page's only
    elsewhere = sounding_elsewhere(tiles, chair)
    if elsewhere:
        st.error(md(elsewhere), icon=":material/notifications_active:")
    for level, text in alert_lines(visible):
        ALERT_BOX[level](md(text))
    waiting = visible.acked_by.isna().any()
    if waiting and current_user() and st.button("Acknowledge", type="primary", key="ack-detail"):
        open_dialog("acknowledge", chair)
    if session:
        _session_header(session, baselines, verdict)
    figure = detail_figure(
        readings, _in_window(episodes, start), events, _thresholds(session), _base(baselines),
        start, now, zone(),
    )  # fmt: skip
    st.plotly_chart(figure, key=f"detail-{chair}", width="stretch")
    show_open_dialog()
    st.subheader("Alerts")
    show(episode_rows(_in_window(episodes, start), zone()), EPISODE_COLUMNS)
    if session:
        st.subheader("Events of this session")
        show(event_rows(events, zone()), EVENT_COLUMNS)
    unused = unused_table(states, chair)
    if not unused.empty:
        with st.expander(TITLE):
            st.caption(HELP)
            st.dataframe(unused, hide_index=True, width="stretch")


def _session_header(session, baselines: dict, verdict) -> None:
    st.markdown(
        md(
            f"{session.patient} · {protocol_label(session.protocol)} · started "
            f"{clock(session.started, zone())} by {session.started_by}"
        )
    )
    for base in baselines.values():
        shown = "none" if base.value is None else with_unit(base.param.value, base.value)
        st.caption(md(f"Baseline {param_label(base.param.value)} {shown}: {base.source}"))
    st.caption(md(_verdict_text(verdict)))


def _thresholds(session) -> list[tuple[str, str, float]]:
    rules = session.rules.rules if session else ()
    return [
        (r.param.value, lvl.label, r.threshold(lvl))
        for r in rules
        if not r.relative
        for lvl, _ in r.tiers
    ]


def _base(baselines: dict) -> dict[str, float]:
    return {b.param.value: b.value for b in baselines.values() if b.value is not None}


def _in_window(episodes: pd.DataFrame, start: pd.Timestamp) -> pd.DataFrame:
    return episodes[(episodes.ended.isna()) | (episodes.ended >= start)]


def _chair_data(conn, chair: str, window: str, now: pd.Timestamp) -> tuple:
    session = queries.active_session(conn, chair)
    start = _window_start(window, session, now)
    return (
        session,
        start,
        queries.chart_readings(conn, chair, start.to_pydatetime()),
        queries.live_episodes(conn, chair),
        queries.visible_episodes(conn, chair=chair),
        queries.device_states(conn),
        queries.events(conn, session.id) if session else _no_events(),
        session_baselines(conn, session) if session else {},
        discharge_verdict(conn, session.id, now.to_pydatetime()) if session else None,
        build_tiles(conn, now),  # what the station sounds, for every chair
    )


def _verdict_text(verdict) -> str:
    """Discharge in one line: ready, or every condition still unmet."""
    if verdict.ready:
        return f"Discharge: {verdict}"
    text = "Discharge: not yet — " + "; ".join(verdict.unmet)
    if verdict.ready_after_min is not None:
        text += f" (every other condition met since +{verdict.ready_after_min:.0f} min)"
    return text


def _window_start(window: str, session, now: pd.Timestamp) -> pd.Timestamp:
    span = RANGES[window]
    if span is None:
        return pd.Timestamp(session.started) if session else now - timedelta(hours=2)
    return now - span


def _no_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": pd.Series(dtype="datetime64[ns, UTC]"),
            "kind": [],
            "text": [],
            "value": [],
            "by": [],
        }
    )


def baseline_prompt(session) -> None:
    """Too few pre-dose readings: say so and let the nurse enter the baseline by hand."""
    baselines = read_store(lambda conn: session_baselines(conn, session)) or {}
    missing = [b for b in baselines.values() if b.needs_entry]
    if not missing:
        return
    names = ", ".join(param_label(b.param.value) for b in missing)
    st.warning(f"Baseline {names}: too few readings before the dose. Enter it by hand.")
    with st.form("baseline-form", clear_on_submit=True):
        values = {
            b.param: st.number_input(
                f"Baseline {param_label(b.param.value)}", value=None, min_value=1.0, max_value=300.0
            )
            for b in missing
        }
        entered = {p: v for p, v in values.items() if v is not None}
        if st.form_submit_button("Enter baseline") and entered:
            run_action(
                commands.enter_baseline,
                session.id,
                entered,
                current_user(),
                success="Baseline entered",
            )


def session_actions(chair: str) -> None:
    """Log events in one click; end the session with its discharge verdict."""
    if current_user() is None:
        return
    session = read_store(lambda conn: queries.active_session(conn, chair))
    if session is None:
        st.info("No session on this chair: start one on the Sessions page.")
        return
    baseline_prompt(session)
    st.subheader("Log an event")
    buttons = st.columns(len(ONE_CLICK_EVENTS))
    for column, (label, kind) in zip(buttons, ONE_CLICK_EVENTS.items(), strict=True):
        if column.button(label, key=f"event-{kind}", width="stretch"):
            run_action(
                commands.add_event, session.id, kind, current_user(), success=f"{label} logged"
            )
    event_form(session.id)
    course_measures(session)
    if st.button("End session…", key="end-session"):
        open_dialog("end-session", session.id)
        st.rerun()


def event_form(session_id: int) -> None:
    """Medication, symptom, dissociation score or note: refused, with a reason, when empty."""
    with st.form("event-form", clear_on_submit=True):
        kind = st.selectbox("Event", list(EVENT_FORM), format_func=event_label)
        text = st.text_input("What (medication name and dose, symptom, or note)")
        value = st.number_input(
            "Value (dose in mg, or dissociation score)", value=None, min_value=0.0
        )
        if not st.form_submit_button("Log"):
            return
    needs, missing = EVENT_FORM[kind]
    if (needs == "text" and not text.strip()) or (needs == "value" and value is None):
        st.error(missing)
        return
    run_action(
        commands.add_event,
        session_id,
        kind,
        current_user(),
        text.strip(),
        value,
        success=f"{event_label(kind)} logged",
    )
