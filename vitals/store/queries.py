"""Read-side queries for the dashboard, the tests and outside scripts; all return DataFrames.

Times come back as pandas UTC timestamps (``time``) so callers never handle raw microseconds.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pandas as pd

from vitals.reading import Param, Quality, Reading
from vitals.sessions import Session
from vitals.store.sql import rules_from_json
from vitals.times import from_us, to_us

READING_COLUMNS = ["chair", "time", "device_time", "param", "value", "unit", "quality", "source"]
READING_TIMES = {"time": "t_us", "device_time": "device_us"}
EPISODE_TIMES = {
    "started": "started_us",
    "ended": "ended_us",
    "peak_time": "peak_us",
    "acked": "acked_us",
}


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, unit="us", utc=True)


def _frame(conn: sqlite3.Connection, sql: str, params: tuple = (), **times: str) -> pd.DataFrame:
    """Run a query; each ``name="column_us"`` becomes a UTC timestamp column ``name``."""
    frame = pd.read_sql_query(sql, conn, params=params)
    for name, column in times.items():
        frame[name] = _utc(frame.pop(column))
    return frame


def chairs(conn: sqlite3.Connection) -> pd.DataFrame:
    """Configured chairs in the order nurses expect to see them."""
    return _frame(
        conn,
        "SELECT chair, name, port, protocol, no_data_after_s FROM chairs ORDER BY position, chair",
    )


def latest_readings(conn: sqlite3.Connection) -> pd.DataFrame:
    """The newest reading of every parameter of every chair (one index probe per pair)."""
    frame = _frame(
        conn,
        """
        WITH params(param) AS (VALUES ('hr'), ('pulse'), ('sbp'), ('dbp'), ('map'), ('spo2'))
        SELECT r.chair, r.t_us, r.device_us, r.param, r.value, r.unit, r.quality, r.source
        FROM chairs c CROSS JOIN params p
        JOIN readings r ON r.id = (
            SELECT id FROM readings
            WHERE chair = c.chair AND param = p.param
            ORDER BY t_us DESC, id DESC LIMIT 1)
        ORDER BY c.position, r.param
        """,
        **READING_TIMES,
    )
    return frame[READING_COLUMNS]


def readings_between(
    conn: sqlite3.Connection, chair: str, start: datetime, end: datetime | None = None
) -> pd.DataFrame:
    """A chair's readings in ``[start, end)``, oldest first (the chair-window index)."""
    end_us = to_us(end) if end else 2**62
    frame = _frame(
        conn,
        "SELECT chair, t_us, device_us, param, value, unit, quality, source FROM readings"
        " WHERE chair = ? AND t_us >= ? AND t_us < ? ORDER BY t_us, id",
        (chair, to_us(start), end_us),
        **READING_TIMES,
    )
    return frame[READING_COLUMNS]


def chart_readings(
    conn: sqlite3.Connection, chair: str, start: datetime, end: datetime | None = None
) -> pd.DataFrame:
    """What a chart draws of ``[start, end)``: time, param, value, quality, oldest first.

    Half the columns of ``readings_between``, built without pandas' SQL reader: a day at 1 Hz
    (260 000 readings) loads in about half the time, which is what keeps a long review fast.
    """
    rows = conn.execute(
        "SELECT t_us, param, value, quality FROM readings"
        " WHERE chair = ? AND t_us >= ? AND t_us < ? ORDER BY t_us, id",
        (chair, to_us(start), to_us(end) if end else 2**62),
    ).fetchall()
    frame = pd.DataFrame(rows, columns=["t_us", "param", "value", "quality"], dtype=object)
    frame.insert(0, "time", _utc(frame.pop("t_us").astype("int64")))
    frame["value"] = frame["value"].astype(float)
    return frame


def device_states(conn: sqlite3.Connection) -> pd.DataFrame:
    return _frame(
        conn,
        "SELECT chair, device, state, since_us, frames_ok, frames_bad, reconnects, last_error,"
        " last_data_us, updated_us, failures, dropouts FROM device_state ORDER BY chair, device",
        since="since_us",
        last_data="last_data_us",
        updated="updated_us",
    )


def heartbeat(conn: sqlite3.Connection) -> dict | None:
    """The recorder's last sign of life, or None if no recorder ever wrote to this store."""
    row = conn.execute(
        "SELECT pid, host, started_us, beat_us, stopped_us FROM heartbeat"
    ).fetchone()
    if row is None:
        return None
    pid, host, started, beat, stopped = row
    return {
        "pid": pid,
        "host": host,
        "started": pd.Timestamp(started, unit="us", tz="UTC"),
        "beat": pd.Timestamp(beat, unit="us", tz="UTC"),
        "stopped": pd.Timestamp(stopped, unit="us", tz="UTC") if stopped else None,
    }


SESSION_SELECT = (
    "SELECT id, chair, patient, protocol, started_us, started_by, rules_json, rules_changed_us,"
    " ended_us, dose_us, weight_kg, dose_mg, baseline_json FROM sessions"
)


def active_session(conn: sqlite3.Connection, chair: str) -> Session | None:
    """The chair's open session with the rules in force, or None."""
    row = conn.execute(
        SESSION_SELECT + " WHERE chair = ? AND ended_us IS NULL", (chair,)
    ).fetchone()
    return _session(row) if row else None


def session_by_id(conn: sqlite3.Connection, session: int) -> Session | None:
    row = conn.execute(SESSION_SELECT + " WHERE id = ?", (session,)).fetchone()
    return _session(row) if row else None


def _session(row: tuple) -> Session:
    (sid, chair, patient, protocol, started, by, rules, changed, ended, dose, weight, mg, base) = (
        row
    )
    return Session(
        id=sid,
        chair=chair,
        patient=patient,
        protocol=protocol,
        started=from_us(started),
        started_by=by,
        rules=rules_from_json(rules),
        rules_changed=from_us(changed),
        ended=from_us(ended) if ended else None,
        dose_time=from_us(dose) if dose else None,
        weight_kg=weight,
        dose_mg=mg,
        baseline_entered={Param(k): v for k, v in json.loads(base).items()},
    )


def sessions(conn: sqlite3.Connection) -> pd.DataFrame:
    return _frame(
        conn,
        "SELECT id AS session, chair, patient, protocol, started_us, ended_us, dose_us,"
        " started_by, ended_by, discharge FROM sessions ORDER BY started_us",
        started="started_us",
        ended="ended_us",
        dose="dose_us",
    )


EPISODE_SELECT = """
    SELECT e.id, e.chair, e.session, e.rule, e.param, e.kind, e.level, e.started_us, e.ended_us,
           e.peak_value, e.peak_us, e.reason, e.rule_json,
           (SELECT by FROM acknowledgments WHERE episode = e.id ORDER BY t_us, id LIMIT 1)
               AS acked_by,
           (SELECT min(t_us) FROM acknowledgments WHERE episode = e.id) AS acked_us
    FROM episodes e
"""


def episodes(
    conn: sqlite3.Connection, chair: str | None = None, session: int | None = None
) -> pd.DataFrame:
    """Episodes, oldest first, with their first acknowledgment; filtered when asked."""
    return _frame(
        conn,
        EPISODE_SELECT + " WHERE (? IS NULL OR e.chair = ?) AND (? IS NULL OR e.session = ?)"
        " ORDER BY e.started_us, e.id",
        (chair, chair, session, session),
        **EPISODE_TIMES,
    )


def visible_episodes(conn: sqlite3.Connection) -> pd.DataFrame:
    """What needs a nurse: open episodes, and critical ones not yet acknowledged (latched)."""
    return _frame(
        conn,
        # constant fragments only; every value is a bound parameter
        EPISODE_SELECT  # noqa: S608
        + " WHERE e.ended_us IS NULL OR (e.level = 'critical' AND NOT EXISTS"
        " (SELECT 1 FROM acknowledgments WHERE episode = e.id)) ORDER BY e.started_us, e.id",
        **EPISODE_TIMES,
    )


def events(conn: sqlite3.Connection, session: int) -> pd.DataFrame:
    return _frame(
        conn,
        "SELECT id, session, chair, t_us, kind, text, value, by FROM events"
        " WHERE session = ? ORDER BY t_us, id",
        (session,),
        time="t_us",
    )


def acknowledgments(conn: sqlite3.Connection, episode: int) -> pd.DataFrame:
    return _frame(
        conn,
        "SELECT by, t_us, comment FROM acknowledgments WHERE episode = ? ORDER BY t_us, id",
        (episode,),
        time="t_us",
    )


def stored_readings(
    conn: sqlite3.Connection, chair: str, start: datetime, end: datetime | None = None
) -> list[Reading]:
    """A chair's readings in ``[start, end)`` as Readings, for replaying through the engine."""
    rows = conn.execute(
        "SELECT param, value, quality, device_us, t_us, source FROM readings"
        " WHERE chair = ? AND t_us >= ? AND t_us < ? ORDER BY t_us, id",
        (chair, to_us(start), to_us(end) if end else 2**62),
    )
    return [
        Reading(Param(p), v, Quality(q), from_us(d) if d else None, from_us(t), chair, s)
        for p, v, q, d, t, s in rows
    ]


def last_session_end(conn: sqlite3.Connection, chair: str) -> datetime | None:
    (ended,) = conn.execute(
        "SELECT max(ended_us) FROM sessions WHERE chair = ?", (chair,)
    ).fetchone()
    return from_us(ended) if ended else None


def recent_values(
    conn: sqlite3.Connection, params: tuple[str, ...], since: datetime
) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """Valid (t_us, value) per (chair, param) since ``since``, for sparklines.

    Index probes on (chair, param, t_us), without pandas: the overview asks every second.
    """
    found: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for (chair,) in conn.execute("SELECT chair FROM chairs").fetchall():
        for param in params:
            found[(chair, param)] = conn.execute(
                "SELECT t_us, value FROM readings WHERE chair = ? AND param = ? AND t_us >= ?"
                " AND quality = 'ok' AND value IS NOT NULL ORDER BY t_us",
                (chair, param, to_us(since)),
            ).fetchall()
    return found
