"""A session as the clinical functions see it, from what the store holds: its baselines, its
dose and pre-dose requirement, its chair's heart-rate sources, and its discharge verdict.

Live alerting, review, the report and the committed sample all take these from here, so each
screen gives the same answer.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from vitals.baseline import STAND_INS, Baseline, compute_baselines
from vitals.clinical import load_protocol
from vitals.discharge import Alarm, BloodPressure, Verdict, readiness
from vitals.engine import Dose
from vitals.errors import ConfigError
from vitals.heart_rate import HeartRateSources
from vitals.lazy import lazy
from vitals.reading import Param, Quality, Reading
from vitals.sessions import Session
from vitals.store import queries
from vitals.wording import alert_name

pd = lazy("pandas")


@dataclass(frozen=True)
class EngineInputs:
    """What the alert engine needs besides the rules and the readings."""

    baselines: dict[Param, float]
    dose: Dose | None
    heart_rate: HeartRateSources


def discharge_verdict(
    conn: sqlite3.Connection,
    session_id: int,
    now: datetime,
    baselines: dict[Param, Baseline] | None = None,
) -> Verdict:
    """``baselines``: the session's, when the caller has just computed them (the summary)."""
    session = queries.session_by_id(conn, session_id)
    if session is None:
        raise ConfigError(f"no session {session_id}")
    protocol = load_protocol(session.protocol)
    if protocol.discharge is None:
        return Verdict(False, (f"protocol {protocol.name} has no discharge criteria",))
    since = session.dose_time or session.started
    after = queries.stored_readings(conn, session.chair, since, now, (Param.SBP, Param.DBP))
    return readiness(
        protocol.discharge,
        session.dose_time,
        now,
        blood_pressures(after),
        session_baselines(conn, session) if baselines is None else baselines,
        session_alarms(conn, session),
    )


def session_baselines(conn: sqlite3.Connection, session: Session) -> dict[Param, Baseline]:
    """The session's baselines with their sources, from its own readings before the dose;
    before the dose only the ones entered by hand."""
    spec = load_protocol(session.protocol).baseline
    if spec is None or session.dose_time is None:
        return {p: Baseline(p, v, "entered by hand") for p, v in session.baseline_entered.items()}
    start = max(session.started, session.dose_time - timedelta(minutes=spec.window_min))
    wanted = {*spec.params, *(STAND_INS[p] for p in spec.params if p in STAND_INS)}
    before = queries.stored_readings(conn, session.chair, start, session.dose_time, tuple(wanted))
    return compute_baselines(
        spec, before, session.dose_time, session.baseline_entered, since=session.started
    )


def engine_inputs(conn: sqlite3.Connection, session: Session | None, chair: str) -> EngineInputs:
    """Baselines, dose and heart-rate sources for a session (or for a chair without one)."""
    heart_rate = queries.chair_heart_rate(conn, chair)
    if session is None:
        return EngineInputs({}, None, heart_rate)
    found = session_baselines(conn, session)
    baselines = {p: b.value for p, b in found.items() if b.value is not None}
    return EngineInputs(baselines, session_dose(session), heart_rate)


def session_dose(session: Session) -> Dose | None:
    """The session's dose with who gave it and the protocol's pre-dose BP requirement."""
    if session.dose_time is None:
        return None
    spec = load_protocol(session.protocol).baseline
    return Dose(
        session.dose_time,
        session.dosed_by,
        spec.required_before_dose if spec else None,
        bp_entered=Param.SBP in session.baseline_entered,
    )


def session_alarms(conn: sqlite3.Connection, session: Session) -> list[Alarm]:
    """The session's clinical alarms that can hold a patient back: all but pre-dose ones."""
    pre_dose = {r.name for r in session.rules.rules if r.phase == "pre-dose"}
    found = queries.episodes(conn, session=session.id)
    clinical = found[(found.kind == "clinical") & ~found.rule.isin(pre_dose)]
    return [
        Alarm(
            alert_name(e.rule, e.param, e.rule_json),
            e.level,
            e.started,
            _time(e.ended),
            _time(e.acked),
        )
        for e in clinical.itertuples()
    ]


def blood_pressures(readings: list[Reading]) -> list[BloodPressure]:
    """Valid cuff results, systolic and diastolic matched by the time they were stored."""
    valid = [r for r in readings if r.quality is Quality.OK and r.value is not None]
    sbp = {r.time: r.value for r in valid if r.param is Param.SBP}
    dbp = {r.time: r.value for r in valid if r.param is Param.DBP}
    return [BloodPressure(t, sbp[t], dbp[t]) for t in sorted(sbp) if t in dbp]


def _time(value) -> datetime | None:
    return None if pd.isna(value) else value.to_pydatetime()
