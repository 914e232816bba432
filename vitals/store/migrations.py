"""Schema migrations: named functions applied in order, each in one transaction with its record.

A database is at the version of the last row in ``migrations``; a migration that fails leaves
no trace, so a half-migrated file cannot exist. Never edit a migration that has shipped: add
a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from vitals.errors import StoreError
from vitals.store import chain

Migration = Callable[[sqlite3.Connection], None]


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run statements one by one: ``executescript`` would commit the open transaction first."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise StoreError(f"incomplete SQL statement in migration: {statement.strip()[:60]}")


def m001_readings_and_devices(conn: sqlite3.Connection) -> None:
    _run_script(
        conn,
        """
        CREATE TABLE chairs (
            chair TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            position INTEGER NOT NULL,
            port TEXT NOT NULL,
            protocol TEXT NOT NULL
        );
        CREATE TABLE readings (
            id INTEGER PRIMARY KEY,
            chair TEXT NOT NULL,
            t_us INTEGER NOT NULL,
            device_us INTEGER,
            param TEXT NOT NULL CHECK (param IN ('hr','pulse','sbp','dbp','map','spo2')),
            value REAL,
            unit TEXT NOT NULL,
            quality TEXT NOT NULL CHECK (quality IN ('ok','artifact','invalid')),
            source TEXT NOT NULL DEFAULT ''
        );
        -- "a chair's time window" and, walked backwards, "latest per chair and parameter"
        CREATE INDEX readings_chair_param_time ON readings (chair, param, t_us);
        CREATE INDEX readings_chair_time ON readings (chair, t_us);
        CREATE TABLE device_state (
            chair TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            since_us INTEGER NOT NULL,
            frames_ok INTEGER NOT NULL DEFAULT 0,
            frames_bad INTEGER NOT NULL DEFAULT 0,
            reconnects INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            last_data_us INTEGER,
            updated_us INTEGER NOT NULL
        );
        CREATE TABLE heartbeat (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            pid INTEGER NOT NULL,
            started_us INTEGER NOT NULL,
            beat_us INTEGER NOT NULL,
            stopped_us INTEGER
        );
        -- Stable, documented view for outside tools (sqlite3, pandas, datasette).
        CREATE VIEW readings_v AS
            SELECT chair,
                   strftime('%Y-%m-%dT%H:%M:%fZ', t_us / 1000000.0, 'unixepoch') AS time_utc,
                   param, value, unit, quality
            FROM readings;
        """,
    )


def m002_sessions_events_episodes(conn: sqlite3.Connection) -> None:
    _run_script(
        conn,
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            chair TEXT NOT NULL,
            patient TEXT NOT NULL,
            protocol TEXT NOT NULL,
            started_us INTEGER NOT NULL,
            started_by TEXT NOT NULL,
            ended_us INTEGER,
            ended_by TEXT,
            dose_us INTEGER,
            weight_kg REAL,
            dose_mg REAL,
            rules_json TEXT NOT NULL,
            rules_changed_us INTEGER NOT NULL,
            baseline_json TEXT NOT NULL DEFAULT '{}',
            discharge TEXT
        );
        -- one open session per chair, enforced by the database, not by hope
        CREATE UNIQUE INDEX sessions_one_open_per_chair ON sessions (chair) WHERE ended_us IS NULL;
        CREATE INDEX sessions_chair_started ON sessions (chair, started_us);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            session INTEGER REFERENCES sessions (id),
            chair TEXT NOT NULL,
            t_us INTEGER NOT NULL,
            kind TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            value REAL,
            by TEXT NOT NULL,
            recorded_us INTEGER NOT NULL
        );
        CREATE INDEX events_session ON events (session, t_us);
        CREATE TABLE episodes (
            id INTEGER PRIMARY KEY,
            chair TEXT,
            session INTEGER REFERENCES sessions (id),
            rule TEXT NOT NULL,
            rule_json TEXT NOT NULL DEFAULT '{}',
            param TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('clinical', 'technical')),
            level TEXT NOT NULL CHECK (level IN ('advisory', 'warning', 'critical')),
            started_us INTEGER NOT NULL,
            ended_us INTEGER,
            peak_value REAL,
            peak_us INTEGER,
            reason TEXT NOT NULL,
            triggers_json TEXT NOT NULL DEFAULT '[]',
            UNIQUE (chair, rule, started_us)
        );
        CREATE INDEX episodes_open ON episodes (chair, ended_us);
        CREATE INDEX episodes_session ON episodes (session, started_us);
        CREATE TABLE acknowledgments (
            id INTEGER PRIMARY KEY,
            episode INTEGER NOT NULL REFERENCES episodes (id),
            by TEXT NOT NULL,
            t_us INTEGER NOT NULL,
            comment TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX acknowledgments_episode ON acknowledgments (episode, t_us);
        -- The audit trail is append-only: acknowledgments and events are never changed or deleted.
        CREATE TRIGGER acknowledgments_append_only_u BEFORE UPDATE ON acknowledgments
            BEGIN SELECT RAISE(ABORT, 'acknowledgments are an audit trail: never updated'); END;
        CREATE TRIGGER acknowledgments_append_only_d BEFORE DELETE ON acknowledgments
            BEGIN SELECT RAISE(ABORT, 'acknowledgments are an audit trail: never deleted'); END;
        CREATE TRIGGER events_append_only_u BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'events are an audit trail: never updated'); END;
        CREATE TRIGGER events_append_only_d BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'events are an audit trail: never deleted'); END;
        -- Stable, documented views for outside tools.
        CREATE VIEW sessions_v AS
            SELECT id AS session, chair, patient, protocol,
                   strftime('%Y-%m-%dT%H:%M:%fZ', started_us / 1000000.0, 'unixepoch')
                       AS started_utc,
                   strftime('%Y-%m-%dT%H:%M:%fZ', ended_us / 1000000.0, 'unixepoch') AS ended_utc
            FROM sessions;
        CREATE VIEW episodes_v AS
            SELECT e.chair, e.session, e.rule, e.param, e.kind, e.level,
                   strftime('%Y-%m-%dT%H:%M:%fZ', e.started_us / 1000000.0, 'unixepoch')
                       AS started_utc,
                   strftime('%Y-%m-%dT%H:%M:%fZ', e.ended_us / 1000000.0, 'unixepoch') AS ended_utc,
                   e.peak_value,
                   strftime('%Y-%m-%dT%H:%M:%fZ', e.peak_us / 1000000.0, 'unixepoch') AS peak_utc,
                   a.by AS acked_by,
                   strftime('%Y-%m-%dT%H:%M:%fZ', a.t_us / 1000000.0, 'unixepoch') AS acked_utc,
                   e.reason
            FROM episodes e
            LEFT JOIN acknowledgments a ON a.id = (
                SELECT id FROM acknowledgments WHERE episode = e.id ORDER BY t_us, id LIMIT 1);
        """,
    )


def m003_device_state_per_device(conn: sqlite3.Connection) -> None:
    """A chair may have several devices (an NIBP monitor and an oximeter): one state each."""
    _run_script(
        conn,
        """
        CREATE TABLE device_state_new (
            chair TEXT NOT NULL,
            device TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL,
            since_us INTEGER NOT NULL,
            frames_ok INTEGER NOT NULL DEFAULT 0,
            frames_bad INTEGER NOT NULL DEFAULT 0,
            reconnects INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            last_data_us INTEGER,
            updated_us INTEGER NOT NULL,
            PRIMARY KEY (chair, device)
        );
        INSERT INTO device_state_new
            (chair, device, state, since_us, frames_ok, frames_bad, reconnects, last_error,
             last_data_us, updated_us)
            SELECT chair, '', state, since_us, frames_ok, frames_bad, reconnects, last_error,
                   last_data_us, updated_us
            FROM device_state;
        DROP TABLE device_state;
        ALTER TABLE device_state_new RENAME TO device_state;
        """,
    )


def m004_chair_heart_rate_and_episode_hygiene(conn: sqlite3.Connection) -> None:
    """A chair's heart-rate sources (best first), so review re-runs the engine as live did;
    and episodes the engine left open in sessions that have ended are ended with them."""
    _run_script(
        conn,
        """
        ALTER TABLE chairs ADD COLUMN heart_rate_json TEXT NOT NULL
            DEFAULT '{"order": ["hr", "pulse"], "stale_s": 15.0}';
        UPDATE episodes SET
            ended_us = max(started_us,
                           (SELECT ended_us FROM sessions s WHERE s.id = episodes.session)),
            reason = reason || ' (ended: session ended)'
        WHERE ended_us IS NULL
          AND (kind = 'clinical' OR rule GLOB 'invalid-*' OR rule = 'nibp-overdue')
          AND (SELECT ended_us FROM sessions s WHERE s.id = episodes.session) IS NOT NULL;
        """,
    )


def m005_device_state_unused(conn: sqlite3.Connection) -> None:
    """What each device sent that gave no reading, by kind, as a JSON object of counts."""
    conn.execute("ALTER TABLE device_state ADD COLUMN unused_json TEXT NOT NULL DEFAULT '{}'")


def m006_audit_chain(conn: sqlite3.Connection) -> None:
    """Chain every change to sessions, events, acknowledgments and episodes (tamper evidence;
    see vitals/store/chain.py); what is already stored becomes the chain's first links."""
    chain.install(conn)


MIGRATIONS: list[Migration] = [
    m001_readings_and_devices,
    m002_sessions_events_episodes,
    m003_device_state_per_device,
    m004_chair_heart_rate_and_episode_hygiene,
    m005_device_state_unused,
    m006_audit_chain,
]


def applied(conn: sqlite3.Connection) -> list[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_utc TEXT NOT NULL)"
    )
    return [row[0] for row in conn.execute("SELECT name FROM migrations ORDER BY rowid")]


def pending(conn: sqlite3.Connection) -> list[Migration]:
    """What ``migrate`` would apply; refuses a database written by a newer Chairside."""
    done = applied(conn)
    known = [m.__name__ for m in MIGRATIONS]
    unknown = [name for name in done if name not in known]
    if unknown:
        raise StoreError(
            f"database has migrations this Chairside does not know: {unknown}; it was written "
            "by a newer version: install that version (or newer) again"
        )
    return [m for m in MIGRATIONS if m.__name__ not in done]


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply what is missing; refuse a database written by a newer Chairside."""
    newly = []
    for migration in pending(conn):
        conn.execute("BEGIN IMMEDIATE")
        if migration.__name__ in applied(conn):  # another process was quicker
            conn.execute("COMMIT")
            continue
        try:
            migration(conn)
            conn.execute(
                "INSERT INTO migrations (name, applied_utc) VALUES (?, ?)",
                (migration.__name__, datetime.now(UTC).isoformat()),
            )
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise
        newly.append(migration.__name__)
    return newly
