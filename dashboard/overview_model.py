"""What each chair tile shows, computed from the store: plain data, tested without Streamlit."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import timedelta

import pandas as pd

from dashboard.tiles import Shown, format_age, link_banner, shown_nibp, shown_value
from vitals.clinical import load_protocol
from vitals.schedule import next_due
from vitals.store import queries

SPARK_WINDOW = timedelta(minutes=30)
STATUS_ORDER = ("critical", "warning", "advisory", "technical", "normal")


@dataclass(frozen=True)
class Tile:
    chair: str
    name: str
    status: str  # one of STATUS_ORDER
    headline: str  # the most severe reason, or "Normal"
    flashing: bool  # an unacknowledged critical: colour + label + motion
    session: str
    values: list[tuple[str, Shown]]
    bp_check: str
    bp_overdue: bool
    link: str | None
    spark: dict[str, list[tuple[pd.Timestamp, float]]] = field(default_factory=dict)
    unacked: list[int] = field(default_factory=list)  # episode ids a nurse can acknowledge


def build_tiles(conn: sqlite3.Connection, now: pd.Timestamp) -> list[Tile]:
    chairs = queries.chairs(conn)
    latest = queries.latest_readings(conn)
    states = queries.device_states(conn).set_index("chair")
    alerts = queries.visible_episodes(conn)
    sessions = queries.sessions(conn)
    open_sessions = sessions[sessions.ended.isna()].set_index("chair")
    since = (now - SPARK_WINDOW).to_pydatetime()
    tiles = []
    for chair in chairs.itertuples():
        mine = latest[latest.chair == chair.chair]
        session = open_sessions.loc[chair.chair] if chair.chair in open_sessions.index else None
        state = states.loc[chair.chair] if chair.chair in states.index else None
        spark = queries.readings_between(conn, chair.chair, since)
        tiles.append(
            _tile(chair, mine, session, state, alerts[alerts.chair == chair.chair], spark, now)
        )
    return tiles


def _tile(chair, latest, session, state, alerts, spark, now) -> Tile:
    status, headline, flashing = _status(alerts, link_banner(state))
    bp_text, overdue = _bp_check(session, latest, now)
    ok = spark[spark.quality == "ok"]
    return Tile(
        chair=chair.chair,
        name=chair.name,
        status=status,
        headline=headline,
        flashing=flashing,
        session=_session_text(session, now),
        values=[
            ("HR", shown_value(latest, "hr", now)),
            ("SpO₂", shown_value(latest, "spo2", now)),
            ("NIBP", shown_nibp(latest, now)),
        ],
        bp_check=bp_text,
        bp_overdue=overdue,
        link=link_banner(state),
        spark={
            p: list(zip(ok[ok.param == p].time, ok[ok.param == p].value, strict=True))
            for p in ("sbp", "hr")
        },
        unacked=[int(e.id) for e in alerts.itertuples() if not isinstance(e.acked_by, str)],
    )


def _status(alerts: pd.DataFrame, link: str | None) -> tuple[str, str, bool]:
    clinical = alerts[alerts.kind == "clinical"]
    for level in ("critical", "warning", "advisory"):
        found = clinical[clinical.level == level]
        if not found.empty:
            first = found.iloc[0]
            flashing = (
                level == "critical" and not found.acked_by.map(lambda a: isinstance(a, str)).all()
            )
            return level, first.reason, flashing
    technical = alerts[alerts.kind == "technical"]
    if not technical.empty:
        return "technical", technical.iloc[0].reason, False
    if link:
        return "technical", link, False
    return "normal", "Normal", False


def _session_text(session: pd.Series | None, now: pd.Timestamp) -> str:
    if session is None:
        return "No session — monitor limits apply"
    dose = (
        f"dose {format_age((now - session.dose).total_seconds())}"
        if pd.notna(session.dose)
        else "no dose yet"
    )
    return f"{session.patient} · {session.protocol} · {dose}"


def _bp_check(
    session: pd.Series | None, latest: pd.DataFrame, now: pd.Timestamp
) -> tuple[str, bool]:
    """Time to the next protocol BP check, or how long it is overdue."""
    if session is None or pd.isna(session.dose):
        return "", False
    schedule = load_protocol(session.protocol).schedule
    if schedule is None:
        return "", False
    dose = session.dose.to_pydatetime()
    sbp = latest[(latest.param == "sbp") & (latest.quality == "ok")]
    last = sbp.time.iloc[0].to_pydatetime() if not sbp.empty else None
    due = next_due(schedule, dose, last if last and last >= dose else None)
    seconds = (pd.Timestamp(due) - now).total_seconds()
    if seconds >= 0:
        return f"BP check in {format_age(seconds).removesuffix(' ago')}", False
    return f"BP check OVERDUE by {format_age(-seconds).removesuffix(' ago')}", True
