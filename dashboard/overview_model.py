"""What each chair tile shows, computed from the store: plain data, tested without Streamlit."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pandas as pd

from dashboard.scale_reminders import scale_reminders
from dashboard.tiles import (
    Shown,
    blind_label,
    blind_since,
    format_age,
    link_banner,
    recorder_alive,
    recorder_banner,
    shown_nibp,
    shown_value,
)
from vitals.clinical import load_protocol
from vitals.schedule import next_check
from vitals.store import queries
from vitals.wording import alert_summary, protocol_label

SPARK_WINDOW = timedelta(minutes=30)
# "nodata": the chair has no current data; it overrides the label of its last values.
STATUS_ORDER = ("nodata", "critical", "warning", "advisory", "technical", "normal")


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
    spark: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # (t_us, value)
    # what a nurse can acknowledge here: (episode id, level, reason)
    unacked: list[tuple[int, str, str]] = field(default_factory=list)
    scales: str = ""  # nurse-rated scales due or overdue (MOAA/S, CADSS, respiratory)
    scales_overdue: bool = False
    blind: str | None = None  # "NO CURRENT DATA — since 10:42" when the chair is blind
    sound: str | None = None  # "technical" when the blind state itself must be heard

    @property
    def alarm_levels(self) -> list[str]:
        """What this tile asks the page to sound: unacknowledged alerts and blindness."""
        return [level for _, level, _ in self.unacked] + ([self.sound] if self.sound else [])


def build_tiles(conn: sqlite3.Connection, now: pd.Timestamp) -> list[Tile]:
    """Every chair's tile from a handful of queries; per-chair work is dictionary lookups."""
    chairs = queries.chairs(conn)
    latest: dict[str, dict] = {}  # chair -> parameter -> its latest row (one pass, no groupby)
    for row in queries.latest_readings(conn).itertuples(index=False):
        latest.setdefault(row.chair, {})[row.param] = row
    states: dict[str, list] = {}
    for row in queries.device_states(conn).itertuples(index=False):
        states.setdefault(row.chair, []).append(row)
    alerts_of: dict[str, list] = {}
    for episode in queries.visible_episodes(conn).itertuples(index=False):
        alerts_of.setdefault(episode.chair, []).append(episode)
    open_sessions = {s.chair: s for s in queries.open_sessions(conn).itertuples(index=False)}
    spark = queries.recent_values(conn, ("sbp", "hr"), (now - SPARK_WINDOW).to_pydatetime())
    reminders = scale_reminders(conn, open_sessions, now)
    beat = queries.heartbeat(conn)
    recorder = Recorder(recorder_alive(beat, now), recorder_banner(beat, now), beat)
    tiles = [
        _tile(
            chair,
            latest.get(chair.chair, {}),
            open_sessions.get(chair.chair),
            states.get(chair.chair),
            alerts_of.get(chair.chair, []),
            {p: spark.get((chair.chair, p), []) for p in ("sbp", "hr")},
            now,
            recorder,
        )
        for chair in chairs.itertuples(index=False)
    ]
    return [_with_scales(t, reminders.get(t.chair)) for t in tiles]


def _with_scales(tile: Tile, reminder: tuple[str, bool] | None) -> Tile:
    return (
        tile if reminder is None else replace(tile, scales=reminder[0], scales_overdue=reminder[1])
    )


@dataclass(frozen=True)
class Recorder:
    alive: bool
    banner: str | None
    beat: dict | None


def _tile(chair, latest, session, state, alerts, spark, now, recorder: Recorder) -> Tile:
    status, headline, flashing = _status(alerts, link_banner(state))
    since = blind_since(latest, chair.no_data_after_s, recorder.alive, now)
    blind = blind_label(since) if since is not None else None
    if blind:
        why = recorder.banner or link_banner(state) or "no valid readings from the monitor"
        said = status == "normal" or headline == why  # a link's own banner is said once
        status, headline = "nodata", why if said else f"{why} · {headline}"
    values = [
        ("HR", shown_value(latest, "hr", now)),
        ("SpO₂", shown_value(latest, "spo2", now)),
        ("NIBP", shown_nibp(latest, now)),
    ]
    if blind:  # what a blind chair last gave is greyed, however young it is
        values = [(name, replace(shown, stale=True)) for name, shown in values]
    bp_text, overdue = _bp_check(session, latest, now)
    return Tile(
        chair=chair.chair,
        name=chair.name,
        status=status,
        headline=headline,
        flashing=flashing,
        session=_session_text(session, now),
        values=values,
        bp_check=bp_text,
        bp_overdue=overdue,
        link=link_banner(state),
        spark=spark,
        unacked=[(int(e.id), e.level, e.reason) for e in alerts if not _acked(e)],
        blind=blind,
        sound="technical" if blind and _blind_heard(alerts, recorder) else None,
    )


def _blind_heard(alerts: list, recorder: Recorder) -> bool:
    """A blind chair sounds until a nurse acknowledges the technical alert that says why; a
    recorder stopped on purpose (its clean stop recorded), or a database no recorder ever
    wrote (a copy under review), is shown, not sounded."""
    stopped = recorder.beat is None or recorder.beat["stopped"] is not None
    acknowledged = any(e.kind == "technical" and _acked(e) for e in alerts)
    return not stopped and not (recorder.alive and acknowledged)


def _acked(episode) -> bool:
    return isinstance(episode.acked_by, str)


def _status(alerts: list, link: str | None) -> tuple[str, str, bool]:
    """The tile's state from its most severe visible episode (clinical before technical)."""
    for level in ("critical", "warning", "advisory"):
        found = [e for e in alerts if e.kind == "clinical" and e.level == level]
        if found:
            flashing = level == "critical" and not all(_acked(e) for e in found)
            more = f" (+{len(found) - 1} more {level})" if len(found) > 1 else ""
            return level, alert_summary(found[0]) + more, flashing
    technical = [e for e in alerts if e.kind == "technical"]
    if technical:
        return "technical", alert_summary(technical[0]), False
    if link:
        return "technical", link, False
    return "normal", "Normal", False


def _session_text(session, now: pd.Timestamp) -> str:
    if session is None:
        return "No session — monitor limits apply"
    dose = (
        f"dose {format_age((now - session.dose).total_seconds())}"
        if pd.notna(session.dose)
        else "no dose yet"
    )
    return f"{session.patient} · {protocol_label(session.protocol)} · {dose}"


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
    sbp = latest.get("sbp")
    last = sbp.time.to_pydatetime() if sbp is not None and sbp.quality == "ok" else None
    found = next_check(schedule, dose, last, now.to_pydatetime())
    if found is None:
        return "", False
    due, overdue = found
    seconds = (pd.Timestamp(due) - now).total_seconds()
    if not overdue:
        return f"BP check in {format_age(seconds).removesuffix(' ago')}", False
    return f"BP check OVERDUE by {format_age(-seconds).removesuffix(' ago')}", True
