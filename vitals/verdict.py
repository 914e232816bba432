"""A session's discharge verdict from what the store holds: the same answer on every screen."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from vitals.baseline import compute_baselines
from vitals.clinical import load_protocol
from vitals.discharge import Verdict, readiness
from vitals.errors import ConfigError
from vitals.reading import Param, Quality
from vitals.store import queries


def discharge_verdict(conn: sqlite3.Connection, session_id: int, now: datetime) -> Verdict:
    session = queries.session_by_id(conn, session_id)
    if session is None:
        raise ConfigError(f"no session {session_id}")
    protocol = load_protocol(session.protocol)
    if protocol.discharge is None or protocol.baseline is None:
        return Verdict(False, (f"protocol {protocol.name} has no discharge criteria",))
    baselines = {}
    if session.dose_time is not None:
        window_start = session.dose_time - timedelta(minutes=protocol.baseline.window_min)
        before = queries.stored_readings(conn, session.chair, window_start, session.dose_time)
        baselines = compute_baselines(
            protocol.baseline, before, session.dose_time, session.baseline_entered
        )
    after = queries.stored_readings(conn, session.chair, session.dose_time or session.started, now)
    bp = _measurements(after)
    visible = queries.visible_episodes(conn)
    mine = visible[(visible.session == session.id) & (visible.kind == "clinical")]
    return readiness(protocol.discharge, session.dose_time, now, bp, baselines, list(mine.rule))


def _measurements(readings: list) -> list[tuple[float, float]]:
    """Valid (sbp, dbp) pairs, matched by the time the recorder stored them together."""
    valid = [r for r in readings if r.quality is Quality.OK and r.value is not None]
    sbp = {r.time: r.value for r in valid if r.param is Param.SBP}
    dbp = {r.time: r.value for r in valid if r.param is Param.DBP}
    return [(sbp[t], dbp[t]) for t in sorted(sbp) if t in dbp]
