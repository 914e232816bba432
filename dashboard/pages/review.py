"""Review: the recorded sessions, filtered; one session's chart, alert log, events and exports."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.figures import detail_figure
from dashboard.forwarding import notification_log
from dashboard.plain import md
from dashboard.rems_panel import rems_panel
from dashboard.review_tables import (
    RUNNING,
    SESSION_COLUMNS,
    back_near_baseline,
    session_rows,
)
from dashboard.source import db_path, read_store, zone
from dashboard.tables import (
    EPISODE_COLUMNS,
    EVENT_COLUMNS,
    episode_rows,
    event_rows,
    show,
)
from dashboard.thresholds import threshold_editor, with_overrides
from vitals.clinic_time import clock, date_and_clock
from vitals.clinical import protocol_names
from vitals.exchange.export import FORMATS, MAIN_FILE, export, session_window
from vitals.exchange.progress import Progress
from vitals.reading import Param, utc_now
from vitals.review import session_page, what_if
from vitals.rules import RuleSet
from vitals.store import connect_readonly, listing, queries
from vitals.store.chain import Verdict, verify
from vitals.store.listing import SessionFilter
from vitals.verdict import session_baselines
from vitals.wording import alert_name, chair_label, param_label, protocol_label, with_unit

RECHECK_S = 300
PARAM_NAMES = {p.value for p in Param}
WHAT_IF_COLUMNS = {
    k: v for k, v in EPISODE_COLUMNS.items() if k != "Acknowledged"
}  # a replay acknowledges nothing


def review_page() -> None:
    st.title("Review")
    found = read_store(
        lambda conn: (
            listing.session_span(conn),
            listing.session_chairs(conn),
            queries.chairs(conn),
        )
    )
    if found is None:
        return
    span, chair_ids, chairs = found
    if span is None:
        st.info("No sessions recorded yet.")
        return
    names = {c: chair_label(c, n) for c, n in zip(chairs.chair, chairs.name, strict=True)}
    chosen_filter = filtered(*span, chair_ids, names)
    number = st.number_input("Page", min_value=1, value=1, step=1, key="review-page")
    page = read_store(
        lambda conn: session_page(conn, utc_now(), chosen_filter, number - 1, keep=db_path())
    )
    if page is None:
        return
    shown = page.rows
    st.caption(f"{page.total} session(s); page {page.page + 1} of {page.pages}, newest first")
    if shown.empty:
        st.info("No session matches these filters.")
        return
    rows = session_rows(shown, names, zone())
    show(rows, SESSION_COLUMNS, key="review-list")
    if shown.empty:
        return
    labels = dict(zip(rows.session, _labels(rows), strict=True))
    chosen = st.selectbox("Session", list(rows.session), format_func=labels.get)
    [chair] = rows.Chair[rows.session == chosen]
    session_review(int(chosen), shown[shown.session == chosen].iloc[0], chair)


def _labels(rows: pd.DataFrame) -> list[str]:
    return [
        f"{date_and_clock(started.to_pydatetime(), zone())} · {chair} · {patient}"
        + (" · still running" if discharge == RUNNING else "")
        for started, chair, patient, discharge in zip(
            rows.Started, rows.Chair, rows.Patient, rows.Discharge, strict=True
        )
    ]


def filtered(first: datetime, last: datetime, chairs: list[str], names: dict) -> SessionFilter:
    """The nurse's or auditor's filters, for the database to apply (days in clinic time)."""
    cols = st.columns(6)
    clinic = zone()
    since = cols[0].date_input("From", value=first.astimezone(clinic).date(), format="DD/MM/YYYY")
    until = cols[1].date_input("To", value=last.astimezone(clinic).date(), format="DD/MM/YYYY")
    chosen = cols[2].multiselect(
        "Chair", chairs, format_func=lambda c: names.get(c) or chair_label(c)
    )
    patient = cols[3].text_input("Patient reference")
    protocols = cols[4].multiselect("Protocol", protocol_names(), format_func=protocol_label)
    critical = cols[5].checkbox("Had a critical alert")
    open_acks = cols[5].checkbox("Unacknowledged alerts")
    return SessionFilter(
        since=datetime.combine(since, time(), clinic).astimezone(UTC),
        until=datetime.combine(until + timedelta(days=1), time(), clinic).astimezone(UTC),
        chairs=tuple(chosen),
        patient=patient.strip(),
        protocols=tuple(protocols),
        critical=critical,
        unacknowledged=open_acks,
    )


def session_review(session_id: int, summary: pd.Series, chair: str) -> None:
    """One session as the clinician opened it from the list (``chair``: its name there)."""
    found = read_store(lambda conn: _review_data(conn, session_id))
    if found is None:
        return
    session, readings, episodes, events, thresholds, baselines, end = found
    if session.ended is None:
        running_notice(session.started, chair, end)
    summary_panel(summary)
    record_check()
    start = pd.Timestamp(session.started) - timedelta(minutes=15)  # the baseline window too
    figure = detail_figure(
        readings, episodes, events, thresholds, baselines, start, pd.Timestamp(end), zone()
    )
    st.plotly_chart(figure, key=f"review-{session_id}", width="stretch")
    st.subheader("Alert and acknowledgment log")
    log = episode_rows(episodes, zone(), day=session.started, newest_first=False)
    show(log, EPISODE_COLUMNS)
    notification_log(session_id)
    st.subheader("Events")
    show(event_rows(events, zone(), day=session.started), EVENT_COLUMNS)
    what_if_panel(session_id, session.protocol, episodes, session.started)
    rems_panel(session_id)
    exports(session_id)


def running_notice(started: datetime, chair: str, now: datetime) -> None:
    """A session not yet ended: the patient is still in the chair, and every figure below is
    only what it was when the page was read (a reviewer must not take it for the outcome)."""
    st.warning(
        md(
            f"Still running: the patient has been in {chair} since {clock(started, zone())}. "
            f"The figures, alerts and discharge below are as of {clock(now, zone())}, "
            "not final."
        ),
        icon=":material/pending:",
    )


def summary_panel(row: pd.Series) -> None:
    """The chosen session's figures that the list has no room for."""
    baselines = ", ".join(
        f"{param_label(p)} {with_unit(p, row[f'baseline_{p}'])}" for p in ("sbp", "dbp", "hr")
    )
    running = pd.isna(row.ended)
    back = back_near_baseline(row.back_to_baseline_min, row.still_raised_at_end, running)
    lines = [
        f"{_duration(row)}. Pre-dose baselines: {baselines}.",
        f"SBP back near baseline: {back or 'not judged (no dose or no baseline)'}.",
        f"Discharge{' so far' if running else ''}: {row.discharge}.",
    ]
    if pd.notna(row.ack_max_min):
        lines.append(f"Longest wait for an acknowledgment: {row.ack_max_min:.0f} min.")
    beyond = [
        f"{_rule_level(column)} {row[column]:.0f} min"
        for column in sorted(c for c in row.index if c.startswith(("min_above_", "min_below_")))
        if pd.notna(row[column]) and row[column] > 0
    ]
    lines.append("Time beyond thresholds: " + ("; ".join(beyond) or "none") + ".")
    for line in lines:
        st.caption(md(line))


def _duration(row: pd.Series) -> str:
    if pd.isna(row.ended):
        started = clock(row.started.to_pydatetime(), zone())
        return f"Running since {started} ({row.duration_min:.0f} min so far)"
    return f"Duration {row.duration_min:.0f} min"


def _rule_level(column: str) -> str:
    """ "min_above_sbp-high_critical" -> "High SBP critical", "min_below_spo2-low_warning" ->
    "Low SpO₂ warning" (a rule is named after its parameter, as the presets name theirs)."""
    rule, level = column.split("_", 2)[2].rsplit("_", 1)
    param = rule.split("-", 1)[0]
    return f"{alert_name(rule, param if param in PARAM_NAMES else None)} {level}"


@st.cache_data(ttl=RECHECK_S, show_spinner="Checking the record…")
def _verdict(db: str) -> tuple[Verdict, str] | None:
    """The chain checked at most every few minutes: a clinic's years of history take seconds
    (bench.audit_chain), too slow for every click."""
    verdict = read_store(verify)
    return None if verdict is None else (verdict, clock(utc_now(), zone()))


def record_check() -> None:
    """Whether the record still reads as Chairside wrote it (the audit chain verifies)."""
    found = _verdict(str(db_path()))
    if found is None:
        return
    verdict, checked = found
    if verdict.intact:
        st.caption(
            f"Record verified at {checked}: the clinic's audit record of sessions, events, "
            f"alerts, acknowledgments and thresholds ({verdict.links} entries) is unchanged "
            "since it was written. The readings themselves are not part of it."
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


def what_if_panel(session_id: int, protocol: str, recorded: pd.DataFrame, day) -> None:
    """Other thresholds or another preset, run by the same engine over the same readings."""
    with st.expander("What if… (other thresholds or another protocol)"):
        presets = protocol_names()
        preset = st.selectbox(
            "Protocol preset",
            presets,
            index=presets.index(protocol),
            key="wi-preset",
            format_func=protocol_label,
        )
        overrides = threshold_editor(preset, key=f"wi-thresholds-{preset}")
        # the engine over a whole session takes a while: only when asked, not on every rerun
        if not st.toggle("Run the alert engine with these settings", key="wi-run"):
            return
        rules = with_overrides(preset, overrides)
        would = read_store(lambda conn: what_if(conn, session_id, rules))
        if would is None:
            return
        st.markdown("**Recorded**")
        clinical = recorded[recorded.kind == "clinical"]
        recorded_rows = episode_rows(clinical, zone(), day, newest_first=False)
        show(recorded_rows, WHAT_IF_COLUMNS, key="wi-recorded")
        st.markdown(f"**With {md(protocol_label(preset))}{' and overrides' if overrides else ''}**")
        would_rows = episode_rows(as_episodes(would, rules), zone(), day, newest_first=False)
        show(would_rows, WHAT_IF_COLUMNS, key="wi-would")


def as_episodes(would: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """What-if rows with what the alert wording needs (the rule's parameter and limits)."""
    specs = {r.name: r for r in rules.rules}
    return would.assign(
        kind="clinical",
        param=[specs[r].param.value for r in would.rule],
        rule_json=[specs[r].to_dict() for r in would.rule],
        acked_by=None,
        acked=pd.NaT,
    )


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
            window = session_window(conn, session_id)
            export(conn, form, window, Path(tmp), progress, zone())
            return (Path(tmp) / MAIN_FILE[form]).read_bytes()
    finally:
        conn.close()
