"""Read-side queries for the dashboard, the tests and outside scripts; all return DataFrames.

Times come back as pandas UTC timestamps (``time``) so callers never handle raw microseconds.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pandas as pd

from vitals.times import to_us

READING_COLUMNS = ["chair", "time", "device_time", "param", "value", "unit", "quality", "source"]


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, unit="us", utc=True)


def chairs(conn: sqlite3.Connection) -> pd.DataFrame:
    """Configured chairs in the order nurses expect to see them."""
    return pd.read_sql_query(
        "SELECT chair, name, port, protocol FROM chairs ORDER BY position, chair", conn
    )


def latest_readings(conn: sqlite3.Connection) -> pd.DataFrame:
    """The newest reading of every parameter of every chair (one index probe per pair)."""
    frame = pd.read_sql_query(
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
        conn,
    )
    return _with_times(frame)


def readings_between(
    conn: sqlite3.Connection, chair: str, start: datetime, end: datetime | None = None
) -> pd.DataFrame:
    """A chair's readings in ``[start, end)``, oldest first (the chair-window index)."""
    end_us = to_us(end) if end else 2**62
    frame = pd.read_sql_query(
        "SELECT chair, t_us, device_us, param, value, unit, quality, source FROM readings"
        " WHERE chair = ? AND t_us >= ? AND t_us < ? ORDER BY t_us, id",
        conn,
        params=(chair, to_us(start), end_us),
    )
    return _with_times(frame)


def device_states(conn: sqlite3.Connection) -> pd.DataFrame:
    frame = pd.read_sql_query(
        "SELECT chair, state, since_us, frames_ok, frames_bad, reconnects, last_error,"
        " last_data_us, updated_us FROM device_state ORDER BY chair",
        conn,
    )
    for column in ("since", "last_data", "updated"):
        frame[column] = _utc(frame.pop(f"{column}_us"))
    return frame


def heartbeat(conn: sqlite3.Connection) -> dict | None:
    """The recorder's last sign of life, or None if no recorder ever wrote to this store."""
    row = conn.execute("SELECT pid, started_us, beat_us, stopped_us FROM heartbeat").fetchone()
    if row is None:
        return None
    pid, started, beat, stopped = row
    return {
        "pid": pid,
        "started": pd.Timestamp(started, unit="us", tz="UTC"),
        "beat": pd.Timestamp(beat, unit="us", tz="UTC"),
        "stopped": pd.Timestamp(stopped, unit="us", tz="UTC") if stopped else None,
    }


def _with_times(frame: pd.DataFrame) -> pd.DataFrame:
    frame["time"] = _utc(frame.pop("t_us"))
    frame["device_time"] = _utc(frame.pop("device_us"))
    return frame[READING_COLUMNS]
