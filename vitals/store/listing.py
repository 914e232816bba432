"""The session list and the stored summaries, asked of the database a page at a time.

The list is filtered, sorted and paged by SQL, and its alert filters are asked of the
episodes themselves, so a page costs the same whatever the clinic's history holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from vitals.lazy import lazy
from vitals.store.queries import SESSION_COLUMNS, SESSION_TIMES, read_frame
from vitals.times import from_us, to_us

pd = lazy("pandas")


@dataclass(frozen=True)
class SessionFilter:
    """What the session list is narrowed to; a field left empty does not narrow it."""

    since: datetime | None = None  # started at or after
    until: datetime | None = None  # started before
    chairs: tuple[str, ...] = ()
    patient: str = ""
    protocols: tuple[str, ...] = ()
    critical: bool = False  # had a critical clinical alert
    unacknowledged: bool = False  # a warning or critical clinical alert nobody acknowledged
    ids: tuple[int, ...] = ()  # only these sessions


# Asked of the episodes themselves, so a filter never waits for a summary; these are the
# summary's alerts_critical > 0 and unacknowledged > 0 (vitals.review), a test keeps them so.
HAD_CRITICAL = (
    "EXISTS (SELECT 1 FROM episodes e WHERE e.session = s.id AND e.kind = 'clinical'"
    " AND e.level = 'critical')"
)
HAD_UNANSWERED = (
    "EXISTS (SELECT 1 FROM episodes e WHERE e.session = s.id AND e.kind = 'clinical'"
    " AND e.level <> 'advisory'"
    " AND NOT EXISTS (SELECT 1 FROM acknowledgments a WHERE a.episode = e.id))"
)


def _where(f: SessionFilter) -> tuple[str, list]:
    """The filter as SQL of constant fragments and the values bound to them."""
    terms, values = ["1 = 1"], []
    if f.since is not None:
        terms.append("s.started_us >= ?")
        values.append(to_us(f.since))
    if f.until is not None:
        terms.append("s.started_us < ?")
        values.append(to_us(f.until))
    for column, chosen in (("chair", f.chairs), ("protocol", f.protocols), ("id", f.ids)):
        if chosen:
            terms.append(f"s.{column} IN ({', '.join('?' * len(chosen))})")
            values += list(chosen)
    if f.patient:
        terms.append("s.patient = ?")
        values.append(f.patient)
    terms += [HAD_CRITICAL] if f.critical else []
    terms += [HAD_UNANSWERED] if f.unacknowledged else []
    return " AND ".join(terms), values


def listed_sessions(
    conn: sqlite3.Connection, f: SessionFilter, limit: int = -1, offset: int = 0
) -> pd.DataFrame:
    """One page of the sessions ``f`` keeps, newest first (``limit`` -1: all of them)."""
    where, values = _where(f)
    # PostgreSQL refuses SQLite's -1 for "no limit"; the largest integer means it on both
    every = limit if limit >= 0 else 2**63 - 1
    return read_frame(
        conn,
        f"{SESSION_COLUMNS} WHERE {where} ORDER BY s.started_us DESC, s.id DESC LIMIT ? OFFSET ?",
        (*values, every, offset),
        **SESSION_TIMES,
    )


def count_sessions(conn: sqlite3.Connection, f: SessionFilter) -> int:
    where, values = _where(f)
    sql = f"SELECT count(*) FROM sessions s WHERE {where}"  # noqa: S608 (constant fragments)
    return conn.execute(sql, values).fetchone()[0]


def patients(conn: sqlite3.Connection) -> list[str]:
    """Every patient reference with a recorded session (from the patient index alone)."""
    return [p for (p,) in conn.execute("SELECT DISTINCT patient FROM sessions ORDER BY patient")]


def session_span(conn: sqlite3.Connection) -> tuple[datetime, datetime] | None:
    """When the first and the last session started, or None without sessions."""
    first, last = conn.execute("SELECT min(started_us), max(started_us) FROM sessions").fetchone()
    return None if first is None else (from_us(first), from_us(last))


def session_chairs(conn: sqlite3.Connection) -> list[str]:
    """Every chair that has had a session."""
    return [c for (c,) in conn.execute("SELECT DISTINCT chair FROM sessions ORDER BY chair")]


SUMMARIES_SELECT = """
    SELECT s.session, s.stamp, s.changes, s.summary_json, coalesce(c.changes, 0)
    FROM session_summaries s LEFT JOIN session_changes c ON c.session = s.session
"""


def stored_summaries(conn: sqlite3.Connection, ids: Collection[int]) -> dict[int, tuple]:
    """Per session: (stamp, changes it was computed from, summary JSON, changes now)."""
    if not ids:  # PostgreSQL has no empty IN ()
        return {}
    marks = ", ".join("?" * len(ids))
    rows = conn.execute(f"{SUMMARIES_SELECT} WHERE s.session IN ({marks})", tuple(ids))
    return {session: rest for session, *rest in rows}


def summary_changes(conn: sqlite3.Connection, session: int) -> int:
    """How often what the session's summary is computed from has changed (see migrations)."""
    row = conn.execute(
        "SELECT changes FROM session_changes WHERE session = ?", (session,)
    ).fetchone()
    return row[0] if row else 0
