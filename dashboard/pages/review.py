"""Review: the recorded sessions, filtered; one session's chart, alert log, events and exports."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.figures import detail_figure
from dashboard.source import db_path, read_store
from dashboard.thresholds import threshold_editor, with_overrides
from vitals.clinical import protocol_names
from vitals.exchange.export import FORMATS, MAIN_FILE, export, session_window
from vitals.exchange.progress import Progress
from vitals.reading import utc_now
from vitals.review import session_list, what_if
from vitals.store import connect_readonly, queries
from vitals.store.chain import Verdict, verify
from vitals.verdict import session_baselines

RECHECK_S = 300
LIST_COLUMNS = [
    "session",
    "chair",
    "patient",
    "protocol",
    "started",
    "duration_min",
    "baseline_sbp",
    "baseline_dbp",
    "baseline_hr",
    "peak_sbp",
    "peak_sbp_min",
    "peak_dbp",
    "peak_dbp_min",
    "peak_hr",
    "peak_hr_min",
    "alerts_advisory",
    "alerts_warning",
    "alerts_critical",
    "unacknowledged",
    "ack_median_min",
    "ack_max_min",
]


def list_columns(sessions: pd.DataFrame) -> list[str]:
    """The list's columns: the figures of every session, then minutes above each threshold
    (per protocol's rules, so blank where a session's protocol has no such rule), then the
    discharge verdict last, where the text has room."""
    above = sorted(c for c in sessions.columns if c.startswith("min_above_"))
    return [*LIST_COLUMNS, *above, "discharge"]


def review_page() -> None:
    st.title("Review")
    sessions = read_store(lambda conn: session_list(conn, utc_now()))
    if sessions is None:
        return
    if sessions.empty:
        st.info("No sessions recorded yet.")
        return
    shown = filtered(sessions)
    st.dataframe(shown[list_columns(shown)], hide_index=True, width="stretch")
    if shown.empty:
        return
    chosen = st.selectbox("Session", list(shown.session), format_func=lambda s: _label(shown, s))
    session_review(int(chosen))


def filtered(sessions: pd.DataFrame) -> pd.DataFrame:
    """The session list narrowed by the nurse's or auditor's filters."""
    cols = st.columns(6)
    days = sessions.started.dt.date
    since = cols[0].date_input("From", value=days.min())
    until = cols[1].date_input("To", value=days.max())
    chairs = cols[2].multiselect("Chair", sorted(sessions.chair.unique()))
    patient = cols[3].text_input("Patient reference")
    protocols = cols[4].multiselect("Protocol", sorted(sessions.protocol.unique()))
    critical = cols[5].checkbox("Had a critical alert")
    open_acks = cols[5].checkbox("Unacknowledged alerts")
    keep = (days >= since) & (days <= until)
    if chairs:
        keep &= sessions.chair.isin(chairs)
    if patient.strip():
        keep &= sessions.patient == patient.strip()
    if protocols:
        keep &= sessions.protocol.isin(protocols)
    if critical:
        keep &= sessions.alerts_critical > 0
    if open_acks:
        keep &= sessions.unacknowledged > 0
    return sessions[keep]


def _label(sessions: pd.DataFrame, session: int) -> str:
    row = sessions[sessions.session == session].iloc[0]
    return f"#{session} · {row.chair} · {row.patient} · {row.started:%Y-%m-%d %H:%M} UTC"


def session_review(session_id: int) -> None:
    found = read_store(lambda conn: _review_data(conn, session_id))
    if found is None:
        return
    session, readings, episodes, events, thresholds, baselines, end = found
    record_check()
    start = pd.Timestamp(session.started) - timedelta(minutes=15)  # the baseline window too
    st.plotly_chart(
        detail_figure(readings, episodes, events, thresholds, baselines, start, pd.Timestamp(end)),
        key=f"review-{session_id}",
        width="stretch",
    )
    st.subheader("Alert log")
    st.dataframe(
        episodes[
            [
                "level",
                "kind",
                "rule",
                "started",
                "ended",
                "peak_value",
                "reason",
                "acked_by",
                "acked",
            ]
        ],
        hide_index=True,
        width="stretch",
    )
    st.subheader("Events")
    st.dataframe(events[["time", "kind", "text", "value", "by"]], hide_index=True, width="stretch")
    what_if_panel(session_id, session.protocol, episodes)
    exports(session_id)


@st.cache_data(ttl=RECHECK_S, show_spinner="Checking the record…")
def _verdict(db: str) -> tuple[Verdict, str] | None:
    """The chain checked at most every few minutes: a clinic's years of history take seconds
    (bench.audit_chain), too slow for every click."""
    verdict = read_store(verify)
    return None if verdict is None else (verdict, f"{datetime.now():%H:%M}")


def record_check() -> None:
    """Whether the record still reads as Chairside wrote it (the audit chain verifies)."""
    found = _verdict(str(db_path()))
    if found is None:
        return
    verdict, checked = found
    if verdict.intact:
        st.caption(
            f"Record verified at {checked}: unchanged since it was written "
            f"({verdict.links} entries)."
        )
    else:
        st.error(
            "Record NOT verified: part of it was changed outside Chairside. Ask the clinic's "
            "IT person to run `chairside verify`."
        )


def _review_data(conn, session_id: int) -> tuple:
    session = queries.session_by_id(conn, session_id)
    end = session.ended or utc_now()
    readings = queries.chart_readings(
        conn, session.chair, session.started - timedelta(minutes=15), end
    )
    rules = [r for r in session.rules.rules if not r.relative]
    thresholds = [(r.param.value, level.label, value) for r in rules for level, value in r.tiers]
    baselines = {
        b.param.value: b.value
        for b in session_baselines(conn, session).values()
        if b.value is not None
    }
    return (
        session,
        readings,
        queries.episodes(conn, session=session_id),
        queries.events(conn, session_id),
        thresholds,
        baselines,
        end,
    )


def what_if_panel(session_id: int, protocol: str, recorded: pd.DataFrame) -> None:
    """Other thresholds or another preset, run by the same engine over the same readings."""
    with st.expander("What if… (other thresholds or another protocol)"):
        presets = protocol_names()
        preset = st.selectbox(
            "Protocol preset", presets, index=presets.index(protocol), key="wi-preset"
        )
        overrides = threshold_editor(preset, key=f"wi-thresholds-{preset}")
        rules = with_overrides(preset, overrides)
        would = read_store(lambda conn: what_if(conn, session_id, rules))
        if would is None:
            return
        left, right = st.columns(2)
        left.markdown("**Recorded**")
        clinical = recorded[recorded.kind == "clinical"]
        left.dataframe(clinical[["rule", "level", "started", "ended", "reason"]], hide_index=True)
        right.markdown(f"**With {preset}{' and overrides' if overrides else ''}**")
        right.dataframe(would[["rule", "level", "started", "ended", "reason"]], hide_index=True)


def exports(session_id: int) -> None:
    """The same exports as `python -m chairside export`. Each is built when asked for, with a
    progress bar (a day's FHIR bundle takes seconds), then offered as a download."""
    st.subheader("Export")
    for column, form in zip(st.columns(len(FORMATS)), FORMATS, strict=True):
        name = f"session-{session_id}-{MAIN_FILE[form]}"
        built = st.session_state.get(f"export-{name}")
        if built is None:
            if column.button(f"Prepare {form.upper()}", key=f"prepare-{name}"):
                bar = column.progress(0.0, text=f"{form.upper()}: starting")
                data = export_bytes(db_path(), session_id, form, _bar_progress(bar))
                st.session_state[f"export-{name}"] = data
                st.rerun()
        else:
            column.download_button(name, built, file_name=name, key=f"download-{name}")


def _bar_progress(bar) -> Progress:
    def report(stage: str, done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{stage}: {done} of {total}")

    return report


def export_bytes(db: Path, session_id: int, form: str, progress: Progress | None = None) -> bytes:
    """The main file of one export of the session (readings.csv for CSV)."""
    conn = connect_readonly(db)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            export(conn, form, session_window(conn, session_id), Path(tmp), progress)
            return (Path(tmp) / MAIN_FILE[form]).read_bytes()
    finally:
        conn.close()
