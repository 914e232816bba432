"""Imports in the audit trail: who imported what into which session, and never quietly into
one that has ended."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vitals.errors import ConfigError
from vitals.reading import Reading, utc_now
from vitals.sessions import check_person
from vitals.store.central import refuse_site_chair
from vitals.store.commands import transaction
from vitals.times import to_us

IMPORT_EVENT = "import"


def sessions_touched(db: Path, readings: Sequence[Reading]) -> dict[tuple[str, int | None], int]:
    """How many readings fall in each (chair, session) window; None: outside any session."""
    counts: dict[tuple[str, int | None], int] = {}
    with transaction(db) as conn:
        for r in readings:
            refuse_site_chair(r.chair)
            row = conn.execute(
                "SELECT id FROM sessions WHERE chair = ? AND started_us <= ?"
                " AND coalesce(ended_us, 9223372036854775807) >= ? ORDER BY started_us DESC",
                (r.chair, to_us(r.time), to_us(r.time)),
            ).fetchone()
            key = (r.chair, row[0] if row else None)
            counts[key] = counts.get(key, 0) + 1
    return counts


def ended_sessions(db: Path, sessions: Sequence[int]) -> list[int]:
    with transaction(db) as conn:
        return [
            s
            for s in sessions
            if conn.execute(
                "SELECT 1 FROM sessions WHERE id = ? AND ended_us IS NOT NULL", (s,)
            ).fetchone()
        ]


def check_ended(db: Path, touched: dict[tuple[str, int | None], int], into_ended: bool) -> None:
    """Refuse readings for an ended session unless the importer said so explicitly."""
    ended = ended_sessions(db, [s for _, s in touched if s is not None])
    if ended and not into_ended:
        listed = ", ".join(str(s) for s in ended)
        raise ConfigError(
            f"the file has readings inside ended session(s) {listed}: a closed record is "
            "changed only on purpose: add --into-ended-session (it is recorded with your name)"
        )


def record_import(
    db: Path, by: str, source: str, touched: dict[tuple[str, int | None], int]
) -> None:
    """One ``import`` event per chair and session the readings went into, naming who."""
    by, now = check_person(by), to_us(utc_now())
    ended = set(ended_sessions(db, [s for _, s in touched if s is not None]))
    with transaction(db) as conn:
        for (chair, session), count in sorted(touched.items(), key=str):
            text = f"readings imported from {source} ({count} in the file for this window)"
            if session in ended:
                text += " into this ended session (--into-ended-session)"
            conn.execute(
                "INSERT INTO events (session, chair, t_us, kind, text, value, by, recorded_us)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (session, chair, now, IMPORT_EVENT, text, count, by, now),
            )
