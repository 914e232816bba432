"""Human actions, written at once: sessions, events, threshold changes, acknowledgments.

The recorder owns acquisition; people act through these functions (from the command line
or the dashboard). Each opens a short write transaction (``BEGIN IMMEDIATE`` waits politely
for the recorder's group commit), checks its input, and records who did it and when.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from vitals.chairs import Chair
from vitals.clinical import ClinicalProtocol, load_protocol
from vitals.errors import AlertChanged, ConfigError, StoreError
from vitals.reading import Param, utc_now
from vitals.rules import Level
from vitals.sessions import DOSE_KINDS, check_event_kind, check_patient_ref, check_person
from vitals.store.central import refuse_site_chair
from vitals.store.connection import Store
from vitals.store.location import describe
from vitals.store.rule_sets import SESSION_RULES, store_rules
from vitals.store.sql import UPSERT_CHAIR, chair_row, rules_from_json
from vitals.store.upgrade import open_migrated
from vitals.times import to_us

Override = tuple[str, Level, float]  # rule name, level, new threshold


@contextlib.contextmanager
def transaction(db: Store) -> Iterator[sqlite3.Connection]:
    conn = open_migrated(db)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise StoreError(f"{describe(db)}: {exc}") from None
    finally:
        conn.close()


def start_session(
    db: Path,
    chair: str,
    patient: str,
    protocol_name: str,
    by: str,
    at: datetime | None = None,
    weight_kg: float | None = None,
    dose_mg: float | None = None,
    overrides: Sequence[Override] = (),
    baseline: Mapping[Param, float] | None = None,
) -> int:
    """Open a session on ``chair``; returns its id. Overrides are recorded as events."""
    check_patient_ref(patient)
    by = check_person(by)
    protocol = load_protocol(protocol_name)
    dose_mg = _dose(protocol, weight_kg, dose_mg)
    rules = protocol.rules
    for name, level, value in overrides:
        rules = rules.changed(name, level, value)
    at = at or utc_now()
    refuse_site_chair(chair)
    with transaction(db) as conn:
        _known_chair(conn, chair)
        if conn.execute(
            "SELECT 1 FROM sessions WHERE chair = ? AND ended_us IS NULL", (chair,)
        ).fetchone():
            raise ConfigError(f"chair {chair!r} already has an open session: end it first")
        cursor = conn.execute(
            "INSERT INTO sessions (chair, patient, protocol, started_us, started_by, weight_kg,"
            " dose_mg, rules_sha256, rules_changed_us, baseline_json)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)"
            " RETURNING id",
            (
                chair,
                patient,
                protocol.name,
                to_us(at),
                by,
                weight_kg,
                dose_mg,
                store_rules(conn, rules),
                to_us(at),
                json.dumps({p.value: v for p, v in (baseline or {}).items()}),
            ),
        )
        (session,) = cursor.fetchone()
        _event(
            conn, session, chair, at, "session-start", by, f"{protocol.title}; patient {patient}"
        )
        for name, level, value in overrides:
            old = protocol.rules.by_name(name).threshold(level)
            text = f"{name} {level.label} {old:g} -> {value:g}"
            _event(conn, session, chair, at, "threshold", by, text, value)
        for param, value in (baseline or {}).items():
            _event(
                conn, session, chair, at, "baseline", by, f"{param.value} baseline entered", value
            )
    return session


def register_chairs(db: Path, chairs: Sequence[Chair]) -> None:
    """Make chairs known before a recorder has run (the simulator opens sessions at once)."""
    with transaction(db) as conn:
        conn.executemany(UPSERT_CHAIR, [chair_row(c, i) for i, c in enumerate(chairs)])


def _dose(
    protocol: ClinicalProtocol, weight_kg: float | None, dose_mg: float | None
) -> float | None:
    if "weight_kg" in protocol.requires and (weight_kg is None or not 20 <= weight_kg <= 300):
        raise ConfigError(
            f"{protocol.name} needs the patient's weight (--weight KG, 20-300), got {weight_kg}"
        )
    if protocol.dose_mg_per_kg and dose_mg is None:
        dose_mg = round(protocol.dose_mg_per_kg * weight_kg, 1)
    if protocol.allowed_doses_mg and dose_mg not in protocol.allowed_doses_mg:
        allowed = " or ".join(f"{d:g}" for d in protocol.allowed_doses_mg)
        raise ConfigError(f"{protocol.name} needs --dose {allowed} (mg), got {dose_mg}")
    return dose_mg


def add_event(
    db: Path,
    session: int,
    kind: str,
    by: str,
    text: str = "",
    value: float | None = None,
    at: datetime | None = None,
) -> None:
    """Log an event; the first dose or infusion start sets the session's dose time."""
    check_event_kind(kind)
    by, at = check_person(by), at or utc_now()
    with transaction(db) as conn:
        chair, dose_us = _open_session(conn, session)
        _event(conn, session, chair, at, kind, by, text, value)
        if kind in DOSE_KINDS and dose_us is None:
            conn.execute("UPDATE sessions SET dose_us = ? WHERE id = ?", (to_us(at), session))


def change_threshold(
    db: Path,
    session: int,
    rule: str,
    level: Level,
    value: float,
    by: str,
    at: datetime | None = None,
) -> str:
    """Change one threshold for one session; the old value is kept in the audit event."""
    by, at = check_person(by), at or utc_now()
    with transaction(db) as conn:
        chair, _ = _open_session(conn, session)
        (stored,) = conn.execute(
            f"SELECT {SESSION_RULES} FROM sessions WHERE id = ?",  # noqa: S608 (a constant)
            (session,),
        ).fetchone()
        rules = rules_from_json(stored)
        old = rules.by_name(rule).threshold(level)
        changed = store_rules(conn, rules.changed(rule, level, value))  # a new rule set
        conn.execute(
            "UPDATE sessions SET rules_sha256 = ?, rules_changed_us = ? WHERE id = ?",
            (changed, to_us(at), session),
        )
        text = f"{rule} {level.label} {old:g} -> {value:g}"
        _event(conn, session, chair, at, "threshold", by, text, value)
    return text


def change_protocol(
    db: Path,
    session: int,
    protocol_name: str,
    by: str,
    weight_kg: float | None = None,
    dose_mg: float | None = None,
    at: datetime | None = None,
) -> str:
    """Put an open session under another protocol preset (its rules, schedule and discharge
    criteria; per-session overrides are dropped). The recorder re-judges open alerts under
    the new rules; the change is kept as an event."""
    by, at = check_person(by), at or utc_now()
    protocol = load_protocol(protocol_name)
    with transaction(db) as conn:
        chair, _ = _open_session(conn, session)
        old, weight, mg = conn.execute(
            "SELECT protocol, weight_kg, dose_mg FROM sessions WHERE id = ?", (session,)
        ).fetchone()
        weight = weight_kg if weight_kg is not None else weight
        mg = _dose(protocol, weight, dose_mg if dose_mg is not None else _kept_dose(protocol, mg))
        conn.execute(
            "UPDATE sessions SET protocol = ?, rules_sha256 = ?, rules_changed_us = ?,"
            " weight_kg = ?, dose_mg = ? WHERE id = ?",
            (protocol.name, store_rules(conn, protocol.rules), to_us(at), weight, mg, session),
        )
        text = f"protocol {old} -> {protocol.name}"
        _event(conn, session, chair, at, "protocol", by, text)
    return text


def _kept_dose(protocol: ClinicalProtocol, dose_mg: float | None) -> float | None:
    """A fixed dose carries over only where the new protocol allows it; a weight-based one is
    worked out again from the weight."""
    if protocol.dose_mg_per_kg:
        return None
    return dose_mg if dose_mg in protocol.allowed_doses_mg else None


def enter_baseline(
    db: Path, session: int, values: Mapping[Param, float], by: str, at: datetime | None = None
) -> None:
    """Enter baseline values by hand (a BP taken before the session, or too few readings);
    they replace the computed ones and the recorder re-judges the session's alerts."""
    by, at = check_person(by), at or utc_now()
    if not values:
        raise ConfigError("enter at least one baseline value, e.g. sbp=128")
    with transaction(db) as conn:
        chair, _ = _open_session(conn, session)
        (stored,) = conn.execute(
            "SELECT baseline_json FROM sessions WHERE id = ?", (session,)
        ).fetchone()
        merged = json.loads(stored) | {p.value: v for p, v in values.items()}
        conn.execute(
            "UPDATE sessions SET baseline_json = ?, rules_changed_us = ? WHERE id = ?",
            (json.dumps(merged), to_us(at), session),
        )
        for param, value in values.items():
            _event(
                conn, session, chair, at, "baseline", by, f"{param.value} baseline entered", value
            )


def end_session(db: Path, session: int, by: str, verdict: str, at: datetime | None = None) -> None:
    """End a session; alerts still open in it end with it (never left open to shade later
    views), in the same transaction."""
    by, at = check_person(by), at or utc_now()
    with transaction(db) as conn:
        chair, _ = _open_session(conn, session)
        conn.execute(
            "UPDATE sessions SET ended_us = ?, ended_by = ?, discharge = ? WHERE id = ?",
            (to_us(at), by, verdict, session),
        )
        conn.execute(END_SESSION_EPISODES, (to_us(at), session))
        _event(conn, session, chair, at, "session-end", by, verdict)


# The alert engine's episodes (clinical, invalid readings, overdue checks) end with their
# session; link episodes belong to the chair and end when the link recovers.
END_SESSION_EPISODES = """
    UPDATE episodes
    SET ended_us = CASE WHEN ?1 > started_us THEN ?1 ELSE started_us END,
        reason = reason || ' (ended: session ended)'
    WHERE session = ?2 AND ended_us IS NULL
      AND (kind = 'clinical' OR rule LIKE 'invalid-%' OR rule = 'nibp-overdue')
"""


def acknowledge(
    db: Path,
    episode: int,
    by: str,
    comment: str = "",
    at: datetime | None = None,
    level_seen: str | None = None,
) -> None:
    """Silence an episode for the nurses; it stays open until its values recover.

    ``level_seen`` is the level the nurse had on screen: it is recorded, and if the episode
    has escalated since, nothing is acknowledged (AlertChanged) so she sees it first.
    """
    by, at = check_person(by), at or utc_now()
    with transaction(db) as conn:
        row = conn.execute("SELECT level, chair FROM episodes WHERE id = ?", (episode,)).fetchone()
        if row is None:
            raise ConfigError(f"no alert episode {episode}")
        refuse_site_chair(row[1])
        if level_seen is not None and row[0] != level_seen:
            raise AlertChanged(f"this alert is now {row[0]}, not {level_seen}: look again")
        conn.execute(
            "INSERT INTO acknowledgments (episode, by, t_us, comment, level_seen)"
            " VALUES (?, ?, ?, ?, ?)",
            (episode, by, to_us(at), comment, level_seen),
        )


def save_summaries(db: Path, rows: Sequence[tuple[int, str, int, str]]) -> None:
    """Store computed session summaries: (session, stamp, change count, summary JSON).

    Derived data, not an action: whoever computed a summary keeps it for the next reader.
    """
    with transaction(db) as conn:
        conn.executemany(
            "INSERT INTO session_summaries (session, stamp, changes, computed_us, summary_json)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (session) DO UPDATE SET stamp = excluded.stamp,"
            " changes = excluded.changes, computed_us = excluded.computed_us,"
            " summary_json = excluded.summary_json",
            [(s, stamp, n, to_us(utc_now()), text) for s, stamp, n, text in rows],
        )


def open_session_id(db: Path, chair: str) -> int:
    refuse_site_chair(chair)
    with transaction(db) as conn:
        row = conn.execute(
            "SELECT id FROM sessions WHERE chair = ? AND ended_us IS NULL", (chair,)
        ).fetchone()
    if row is None:
        raise ConfigError(f"chair {chair!r} has no open session")
    return row[0]


def _known_chair(conn: sqlite3.Connection, chair: str) -> None:
    chairs = [r[0] for r in conn.execute("SELECT chair FROM chairs ORDER BY position")]
    if chair not in chairs:
        known = ", ".join(chairs) or "none yet (start the recorder first)"
        raise ConfigError(f"unknown chair {chair!r}; known: {known}")


def _open_session(conn: sqlite3.Connection, session: int) -> tuple[str, int | None]:
    row = conn.execute(
        "SELECT chair, ended_us, dose_us FROM sessions WHERE id = ?", (session,)
    ).fetchone()
    if row is None:
        raise ConfigError(f"no session {session}")
    refuse_site_chair(row[0])
    if row[1] is not None:
        raise ConfigError(f"session {session} has ended; it can no longer be changed")
    return row[0], row[2]


def _event(
    conn: sqlite3.Connection,
    session: int,
    chair: str,
    at: datetime,
    kind: str,
    by: str,
    text: str,
    value: float | None = None,
) -> None:
    conn.execute(
        "INSERT INTO events (session, chair, t_us, kind, text, value, by, recorded_us)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (session, chair, to_us(at), kind, text, value, by, to_us(utc_now())),
    )
