"""What happened in a session, in numbers: the rows of the session list and the review header.

Every figure comes from the store through the core (readings, episodes, acknowledgments,
baselines), so the list, the PDF and any outside check agree. ``session_summary`` computes
one session's figures; an ended session's are stored once computed and served from the store
while they are fresh (the same code and presets, nothing they were computed from changed
since: see ``session_changes`` in the migrations), so the list and a patient's course cost
the same after a year as after a day. An open session's figures change with every minute and
are always computed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import sqlite3
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vitals.clinical import load_protocol
from vitals.engine import evaluate
from vitals.errors import StoreError
from vitals.lazy import lazy
from vitals.reading import Param, Quality
from vitals.rules import Direction, RuleSet
from vitals.sessions import Session
from vitals.store import commands, connect_readonly, listing, queries, session_figures
from vitals.store.listing import SessionFilter
from vitals.verdict import discharge_verdict, engine_inputs, session_baselines

pd = lazy("pandas")

PEAKS = (Param.SBP, Param.DBP, Param.HR)
# From the sessions table; ``ended`` is None (NaT in a frame) while the session is running.
IDENTITY = ("session", "chair", "patient", "protocol", "started", "ended")
PAGE_SIZE = 50
log = logging.getLogger("chairside.review")


def session_summary(conn: sqlite3.Connection, session_id: int, now: datetime) -> dict[str, Any]:
    """One row of the session list; times in minutes, peaks with minutes after the dose."""
    with queries.snapshot(conn):
        return _summary(conn, session_id, now)


def _summary(conn: sqlite3.Connection, session_id: int, now: datetime) -> dict[str, Any]:
    session = queries.session_by_id(conn, session_id)
    if session is None:
        raise ValueError(f"no session {session_id}")
    end = session.ended or now
    row: dict[str, Any] = {
        "session": session.id,
        "chair": session.chair,
        "patient": session.patient,
        "protocol": session.protocol,
        "started": session.started,
        "ended": session.ended,
        "duration_min": round((end - session.started).total_seconds() / 60, 1),
    }
    baselines = session_baselines(conn, session)
    for param in PEAKS:
        base = baselines.get(param)
        row[f"baseline_{param.value}"] = base.value if base else None
    row |= _peaks(conn, session, end)
    for param in (Param.SBP, Param.DBP):
        base, peak = row[f"baseline_{param.value}"], row[f"peak_{param.value}"]
        row[f"rise_{param.value}"] = None if base is None or peak is None else peak - base
    back, still_raised = _back_to_baseline(conn, session, end, row["baseline_sbp"])
    row["back_to_baseline_min"], row["still_raised_at_end"] = back, still_raised
    row |= _time_beyond(conn, session, end)
    row |= _alerts(conn, session)
    row |= _scores(queries.events(conn, session.id))
    row["discharge"] = str(discharge_verdict(conn, session.id, end, baselines))
    return row


@functools.cache
def summary_stamp() -> str:
    """What a stored summary was computed with: a digest of the core's code and presets (this
    package), so that any change to either makes every stored summary stale."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def summaries(
    conn: sqlite3.Connection, listed: pd.DataFrame, now: datetime, keep: Path | None = None
) -> pd.DataFrame:
    """The summaries of ``listed`` sessions (a frame of ``queries.listed_sessions``), in its
    order: stored ones while fresh, the others computed, and stored in the database ``keep``
    when it is given so the next reader finds them."""
    if listed.empty:
        return pd.DataFrame()
    ended = [int(s) for s, e in zip(listed.session, listed.ended, strict=True) if pd.notna(e)]
    found = _fresh(conn, ended)
    computed = {int(s): _computed(conn, int(s), now) for s in listed.session if int(s) not in found}
    if keep is not None:
        _save(keep, {s: c for s, c in computed.items() if s in ended})
    found |= {s: _figures(row) for s, (_, row) in computed.items()}
    rows = [
        dict(zip(IDENTITY, identity, strict=True)) | found[int(identity[0])]
        for identity in listed[list(IDENTITY)].itertuples(index=False)
    ]
    return pd.DataFrame(rows)


def _fresh(conn: sqlite3.Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    stored = listing.stored_summaries(conn, ids) if ids else {}
    return {
        session: json.loads(text)
        for session, (stamp, changes, text, changes_now) in stored.items()
        if stamp == summary_stamp() and changes == changes_now
    }


def _computed(conn: sqlite3.Connection, session: int, now: datetime) -> tuple[int, dict]:
    """The summary and the change count it reflects, read at one moment of the store."""
    with queries.snapshot(conn):
        return listing.summary_changes(conn, session), session_summary(conn, session, now)


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in IDENTITY}


def _save(db: Path, computed: dict[int, tuple[int, dict]]) -> None:
    """Store fresh summaries; a store that refuses (read-only, busy) costs only their reuse."""
    rows = [
        (session, summary_stamp(), changes, json.dumps(_figures(row)))
        for session, (changes, row) in computed.items()
    ]
    if not rows:
        return
    try:
        commands.save_summaries(db, rows)
    except StoreError as exc:
        log.warning("session summaries computed but not stored: %s", exc)


def keep_summaries(db: Path, sessions: list[int], now: datetime | None = None) -> None:
    """Compute and store the summaries of ended ``sessions`` (when a session ends)."""
    conn = connect_readonly(db)
    try:
        listed = listing.listed_sessions(conn, SessionFilter(ids=tuple(sessions)))
        summaries(conn, listed, now or datetime.now(UTC), keep=db)
    finally:
        conn.close()


@dataclass(frozen=True)
class SessionPage:
    rows: pd.DataFrame  # summaries of this page's sessions, newest first
    total: int  # sessions the filter keeps, on every page
    page: int
    pages: int


def session_page(
    conn: sqlite3.Connection,
    now: datetime,
    f: SessionFilter | None = None,
    page: int = 0,
    keep: Path | None = None,
    per_page: int = PAGE_SIZE,
) -> SessionPage:
    """One page of the session list, filtered and sorted in the database, newest first."""
    f = f or SessionFilter()
    total = listing.count_sessions(conn, f)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    listed = listing.listed_sessions(conn, f, per_page, page * per_page)
    return SessionPage(summaries(conn, listed, now, keep), total, page, pages)


def patients(conn: sqlite3.Connection) -> list[str]:
    """Every patient reference with a recorded session, for choosing a course."""
    return listing.patients(conn)


def course(
    conn: sqlite3.Connection, patient: str, now: datetime, keep: Path | None = None
) -> pd.DataFrame:
    """One patient's sessions, oldest first: how their course of treatment went, session by
    session, with the same figures as the session list."""
    listed = listing.listed_sessions(conn, SessionFilter(patient=patient))
    rows = summaries(conn, listed.iloc[::-1], now, keep)
    return rows.reset_index(drop=True)


def _peaks(conn: sqlite3.Connection, session: Session, end: datetime) -> dict[str, Any]:
    anchor = session.dose_time or session.started
    out: dict[str, Any] = {}
    for param in PEAKS:
        top = session_figures.peak(conn, session.chair, param, session.started, end)
        out[f"peak_{param.value}"] = top[0] if top else None
        out[f"peak_{param.value}_min"] = (
            round((top[1] - anchor).total_seconds() / 60, 1) if top else None
        )
    return out


def _back_to_baseline(
    conn: sqlite3.Connection, session: Session, end: datetime, baseline_sbp: float | None
) -> tuple[float | None, bool]:
    """Minutes after the dose from which SBP stayed within the protocol's discharge margin of
    its baseline (0 if it never left it), and whether it was still above at the last reading.

    (None, False) when there is no dose, no baseline or no margin to judge by.
    """
    protocol = load_protocol(session.protocol)
    if baseline_sbp is None or session.dose_time is None or protocol.discharge is None:
        return None, False
    limit = baseline_sbp * (1 + protocol.discharge.within_baseline_pct / 100)
    since = max(session.started, session.dose_time)
    after = [
        r
        for r in queries.stored_readings(conn, session.chair, since, end, (Param.SBP,))
        if r.quality is Quality.OK and r.value is not None
    ]
    above = [i for i, r in enumerate(after) if r.value > limit]
    if not above:
        return 0.0, False
    if above[-1] == len(after) - 1:
        return None, True
    back = after[above[-1] + 1].time
    return round((back - session.dose_time).total_seconds() / 60, 1), False


def _scores(events: pd.DataFrame) -> dict[str, Any]:
    """The dissociation scores and side effects the nurses logged during the session."""
    dissociation = events[events.kind == "dissociation"].value.dropna()
    symptoms = events[events.kind == "symptom"]
    severities = symptoms.value.dropna()
    return {
        "dissociation_max": float(dissociation.max()) if len(dissociation) else None,
        "side_effects": "; ".join(
            text if pd.isna(value) else f"{text} ({value:g})"
            for text, value in zip(symptoms.text, symptoms.value, strict=True)
        ),
        "side_effect_max": float(severities.max()) if len(severities) else None,
    }


def _time_beyond(conn: sqlite3.Connection, session: Session, end: datetime) -> dict[str, float]:
    """Minutes each absolute threshold was breached, a value holding until the next one: time
    above a high rule's lines (``min_above_…``), below a low rule's (``min_below_…``)."""
    out = {}
    for rule in session.rules.rules:
        if rule.relative:
            continue
        seconds = session_figures.seconds_beyond(
            conn,
            session.chair,
            rule.param,
            session.started,
            end,
            [t for _, t in rule.tiers],
            rule.operator,
        )
        side = "above" if rule.direction is Direction.HIGH else "below"
        for (level, _), held in zip(rule.tiers, seconds, strict=True):
            out[f"min_{side}_{rule.name}_{level.label}"] = round(held / 60, 1)
    return out


def _alerts(conn: sqlite3.Connection, session: Session) -> dict[str, Any]:
    clinical = session_figures.clinical_alerts(conn, session.id)
    out: dict[str, Any] = {
        f"alerts_{level}": sum(1 for a in clinical if a.level == level)
        for level in ("advisory", "warning", "critical")
    }
    waits = [
        (a.acked_us - a.started_us) / 1e6 / 60
        for a in clinical
        if a.level in ("warning", "critical") and a.acked_us is not None
    ]
    out["ack_median_min"] = round(statistics.median(waits), 1) if waits else None
    out["ack_max_min"] = round(max(waits), 1) if waits else None
    out["unacknowledged"] = sum(1 for a in clinical if a.level != "advisory" and a.acked_us is None)
    return out


def what_if(conn: sqlite3.Connection, session_id: int, rules: RuleSet) -> pd.DataFrame:
    """The clinical episodes ``rules`` would have raised on the recorded session.

    The same engine as live, over the same stored readings, baselines and dose time; put it
    beside ``queries.episodes(conn, session=...)`` to compare.
    """
    session = queries.session_by_id(conn, session_id)
    if session is None:
        raise ValueError(f"no session {session_id}")
    end = session.ended or datetime.now(session.started.tzinfo)
    readings = queries.stored_readings(conn, session.chair, session.started, end)
    inputs = engine_inputs(conn, session, session.chair)
    found = evaluate(rules, readings, inputs.baselines, inputs.dose, inputs.heart_rate)
    episodes = [e for e in found if e.kind == "clinical"]
    return pd.DataFrame(
        [
            {
                "rule": e.rule,
                "level": e.level.label,
                "started": e.started,
                "ended": e.ended,
                "peak_value": e.peak_value,
                "reason": e.reason,
            }
            for e in episodes
        ],
        columns=["rule", "level", "started", "ended", "peak_value", "reason"],
    )
