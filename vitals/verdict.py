"""A session's discharge verdict from what the store holds: the same answer on every screen."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from vitals.baseline import Baseline, compute_baselines
from vitals.clinical import load_protocol
from vitals.discharge import Verdict, readiness
from vitals.errors import ConfigError
from vitals.reading import Param, Quality
from vitals.sessions import Session
from vitals.store import queries


def discharge_verdict(conn: sqlite3.Connection, session_id: int, now: datetime) -> Verdict:
    session = queries.session_by_id(conn, session_id)
    if session is None:
        raise ConfigError(f"no session {session_id}")
    protocol = load_protocol(session.protocol)
    if protocol.discharge is None:
        return Verdict(False, (f"protocol {protocol.name} has no discharge criteria",))
    baselines = session_baselines(conn, session)
    since = session.dose_time or session.started
    after = queries.stored_readings(conn, session.chair, since, now, (Param.SBP, Param.DBP))
    bp = _measurements(after)
    visible = queries.visible_episodes(conn, session=session.id)
    mine = visible[visible.kind == "clinical"]
    return readiness(protocol.discharge, session.dose_time, now, bp, baselines, list(mine.rule))


def session_baselines(conn: sqlite3.Connection, session: Session) -> dict[Param, Baseline]:
    """The session's baselines with their sources; only hand-entered ones before the dose."""
    spec = load_protocol(session.protocol).baseline
    if spec is None or session.dose_time is None:
        return {p: Baseline(p, v, "entered by hand") for p, v in session.baseline_entered.items()}
    start = session.dose_time - timedelta(minutes=spec.window_min)
    before = queries.stored_readings(conn, session.chair, start, session.dose_time, spec.params)
    return compute_baselines(spec, before, session.dose_time, session.baseline_entered)


def _measurements(readings: list) -> list[tuple[float, float]]:
    """Valid (sbp, dbp) pairs, matched by the time the recorder stored them together."""
    valid = [r for r in readings if r.quality is Quality.OK and r.value is not None]
    sbp = {r.time: r.value for r in valid if r.param is Param.SBP}
    dbp = {r.time: r.value for r in valid if r.param is Param.DBP}
    return [(sbp[t], dbp[t]) for t in sorted(sbp) if t in dbp]
