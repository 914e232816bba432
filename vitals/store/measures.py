"""Scores and questionnaires, written as session events and read back for the tile, the
monitoring record and the course.

Nurse-rated scales are checked against the session's protocol (a MOAA/S of 7 is refused); a
questionnaire is written in one transaction, so a half-saved PHQ-9 cannot exist.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from vitals.errors import ConfigError
from vitals.questionnaires import SEVERITIES, Phq9, side_effect_report
from vitals.reading import Param, Reading, utc_now
from vitals.scales import scale_named
from vitals.sessions import check_person
from vitals.store import queries
from vitals.store.commands import _event, _open_session, transaction
from vitals.times import from_us


def record_score(
    db: Path, session: int, scale_name: str, score: float, by: str, at: datetime | None = None
) -> str:
    """Store one nurse-rated score; returns what was logged (``MOAA/S 4: lethargic ...``)."""
    by, at = check_person(by), at or utc_now()
    with transaction(db) as conn:
        chair, _ = _open_session(conn, session)
        (protocol,) = conn.execute(
            "SELECT protocol FROM sessions WHERE id = ?", (session,)
        ).fetchone()
        scale = scale_named(protocol, scale_name)
        if scale is None:
            raise ConfigError(f"protocol {protocol} has no scale {scale_name!r}")
        text = f"{scale.instrument} {scale.label(scale.check(score))}"
        _event(conn, session, chair, at, scale.name, by, text, score)
    return text


def record_phq9(db: Path, session: int, phq9: Phq9, by: str, at: datetime | None = None) -> None:
    by, at = check_person(by), at or utc_now()
    with transaction(db) as conn:
        chair, _ = _open_session(conn, session)
        _event(conn, session, chair, at, "phq9", by, phq9.event_text(), phq9.total)


def record_side_effects(
    db: Path, session: int, severities: Mapping[str, int], by: str, at: datetime | None = None
) -> int:
    """Each reported side effect as a ``symptom`` (severity 1-3) and the completed checklist
    as one ``side-effects`` event; returns how many were reported."""
    by, at = check_person(by), at or utc_now()
    reported = side_effect_report(severities)
    with transaction(db) as conn:
        chair, _ = _open_session(conn, session)
        for name, severity in reported:
            _event(conn, session, chair, at, "symptom", by, name, severity)
        summary = "; ".join(f"{n}: {SEVERITIES[s]}" for n, s in reported) or "none reported"
        _event(conn, session, chair, at, "side-effects", by, summary, len(reported))
    return len(reported)


SCALE_KINDS = ("sedation", "dissociation", "respiratory")


def log_measure(
    db: Path, session: int, kind: str, by: str, text: str = "", value: float | None = None
) -> str:
    """The command line's ``session event`` for the course's kinds: a scale's score checked
    against the session's protocol, a PHQ-9 from its nine answers in ``text``; the checklist
    is the patient's form (the chair page). Returns what was logged."""
    if kind in SCALE_KINDS:
        if value is None:
            raise ConfigError(f"a {kind} score needs --value")
        return record_score(db, session, kind, value, by)
    if kind == "phq9":
        try:
            phq9 = Phq9(tuple(int(a) for a in text.replace(",", " ").split()))
        except ValueError:
            raise ConfigError(f"--text must be the nine PHQ-9 answers 0-3, got {text!r}") from None
        record_phq9(db, session, phq9, by)
        return f"PHQ-9 total {phq9.total} ({phq9.severity})"
    raise ConfigError("the side-effect checklist is entered on the chair page")


def param_readings(
    conn: sqlite3.Connection,
    chair: str,
    params: Sequence[Param],
    start: datetime,
    end: datetime,
) -> list[Reading]:
    """A chair's readings of ``params`` in ``[start, end]``, oldest first, each parameter a
    range of the clustered (chair, param, time) key: the record needs BP and SpO2, not a day
    of heart rate."""
    return queries.stored_readings(conn, chair, start, end + timedelta(microseconds=1), params)


def scored_times(
    conn: sqlite3.Connection, sessions: Sequence[int], kinds: Sequence[str]
) -> dict[int, dict[str, list[datetime]]]:
    """When each of ``kinds`` was scored in each session: {session: {kind: [times]}}."""
    found: dict[int, dict[str, list[datetime]]] = {s: {} for s in sessions}
    if not sessions or not kinds:
        return found
    marks = ",".join("?" * len(sessions)), ",".join("?" * len(kinds))
    rows = conn.execute(
        # only placeholders are formatted in; every value is a bound parameter
        f"SELECT session, kind, t_us FROM events WHERE session IN ({marks[0]})"  # noqa: S608
        f" AND kind IN ({marks[1]}) ORDER BY t_us",
        (*sessions, *kinds),
    )
    for session, kind, t_us in rows:
        found[session].setdefault(kind, []).append(from_us(t_us))
    return found
