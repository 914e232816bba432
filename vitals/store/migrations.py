"""Schema migrations: named functions applied in order, each in one transaction with its record.

A database is at the version of the last row in ``migrations``; a migration that fails leaves
no trace, so a half-migrated file cannot exist. Never edit a migration that has shipped: add
a new one.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from vitals.errors import StoreError
from vitals.store import chain, rule_sets

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


def m006_acknowledgment_level_seen(conn: sqlite3.Connection) -> None:
    """An acknowledgment records the alert level the nurse saw when she acknowledged: an
    alert that escalated while her dialog was open is not silenced on her behalf."""
    _run_script(conn, "ALTER TABLE acknowledgments ADD COLUMN level_seen TEXT;")


# The readings' schema in one paragraph (README, "The store"): a reading is keyed by its chair,
# parameter and time, and that key is the table's own B-tree (WITHOUT ROWID), so a chair's
# parameter over a time window is one contiguous range on disk and needs no index beside it.
# Every repeated text (chair, parameter with its unit, quality, source) is a small integer
# into a lookup table; the device's clock is kept as its offset from the recorder's (a few
# bytes instead of eight); ``seq`` tells apart the rare readings that share chair, parameter
# and time to the microsecond. readings_v joins the names back: outside tools see the same
# columns and values as before.
READING_KEYS = """
    CREATE TABLE chair_keys (key INTEGER PRIMARY KEY, chair TEXT NOT NULL UNIQUE);
    CREATE TABLE params (key INTEGER PRIMARY KEY, param TEXT NOT NULL UNIQUE, unit TEXT NOT NULL);
    CREATE TABLE qualities (key INTEGER PRIMARY KEY, quality TEXT NOT NULL UNIQUE);
    CREATE TABLE sources (key INTEGER PRIMARY KEY, source TEXT NOT NULL UNIQUE);
    -- 'ok' is 0: SQLite stores the integers 0 and 1 in no bytes at all
    INSERT INTO qualities (key, quality) VALUES (0, 'ok'), (1, 'artifact'), (2, 'invalid');
    -- in name order, so converting rows in the old index's order appends to the new table
    INSERT INTO params (param, unit) VALUES
        ('dbp', 'mmHg'), ('hr', 'bpm'), ('map', 'mmHg'), ('pulse', 'bpm'), ('sbp', 'mmHg'),
        ('spo2', '%');
    CREATE TABLE compact_readings (
        chair_key INTEGER NOT NULL,
        param_key INTEGER NOT NULL,
        t_us INTEGER NOT NULL,
        seq INTEGER NOT NULL DEFAULT 0,
        value REAL,
        quality_key INTEGER NOT NULL,
        source_key INTEGER NOT NULL,
        device_offset_us INTEGER,  -- device time minus t_us; NULL when the device sent none
        PRIMARY KEY (chair_key, param_key, t_us, seq)
    ) WITHOUT ROWID;
"""
# Chairs in name order (a skip-scan of the old index, one probe per chair) and sources.
INTERN_OLD_NAMES = """
    INSERT INTO chair_keys (chair)
        WITH RECURSIVE seen(chair) AS (
            SELECT min(chair) FROM readings
            UNION ALL
            SELECT (SELECT min(chair) FROM readings WHERE chair > seen.chair) FROM seen
            WHERE seen.chair IS NOT NULL)
        SELECT chair FROM seen WHERE chair IS NOT NULL
        UNION SELECT chair FROM chairs ORDER BY 1;
    INSERT INTO sources (source) SELECT DISTINCT source FROM readings ORDER BY 1;
"""
# Read in the old (chair, param, t_us) index's order, which is the new key's order: the new
# table grows at its end and needs no sort; row_number keeps every duplicate, in id order.
CONVERT_OLD_READINGS = """
    INSERT INTO compact_readings
        (chair_key, param_key, t_us, seq, value, quality_key, source_key, device_offset_us)
    SELECT c.key, p.key, r.t_us,
           row_number() OVER (PARTITION BY r.chair, r.param, r.t_us ORDER BY r.id) - 1,
           r.value, q.key, s.key, r.device_us - r.t_us
    FROM readings r
    JOIN chair_keys c ON c.chair = r.chair
    JOIN params p ON p.param = r.param AND p.unit = r.unit
    JOIN qualities q ON q.quality = r.quality
    JOIN sources s ON s.source = r.source
    ORDER BY r.chair, r.param, r.t_us, r.id
"""
READING_VIEWS = """
    DROP VIEW readings_v;
    DROP TABLE readings;
    ALTER TABLE compact_readings RENAME TO readings;
    -- Stable, documented view for outside tools: the same columns and values as before.
    CREATE VIEW readings_v AS
        SELECT c.chair,
               strftime('%Y-%m-%dT%H:%M:%fZ', r.t_us / 1000000.0, 'unixepoch') AS time_utc,
               p.param, r.value, p.unit, q.quality
        FROM readings r
        JOIN chair_keys c ON c.key = r.chair_key
        JOIN params p ON p.key = r.param_key
        JOIN qualities q ON q.key = r.quality_key;
    -- Every stored column with its names, for tests and for looking into a store by hand.
    CREATE VIEW readings_full AS
        SELECT c.chair, r.t_us, r.t_us + r.device_offset_us AS device_us, p.param, r.value,
               p.unit, q.quality, s.source, r.seq
        FROM readings r
        JOIN chair_keys c ON c.key = r.chair_key
        JOIN params p ON p.key = r.param_key
        JOIN qualities q ON q.key = r.quality_key
        JOIN sources s ON s.key = r.source_key;
"""


def m007_compact_readings(conn: sqlite3.Connection) -> None:
    """Readings with integer keys in a table clustered by chair, parameter and time, the old
    rows converted in place (every one of them, or the migration fails and changes nothing)."""
    _run_script(conn, READING_KEYS)
    _run_script(conn, INTERN_OLD_NAMES)
    converted = conn.execute(CONVERT_OLD_READINGS).rowcount
    (stored,) = conn.execute("SELECT count(*) FROM readings").fetchone()
    if converted != stored:
        odd = conn.execute(
            "SELECT param, unit, count(*) FROM readings r WHERE NOT EXISTS"
            " (SELECT 1 FROM params p WHERE p.param = r.param AND p.unit = r.unit)"
            " GROUP BY param, unit"
        ).fetchall()
        shown = ", ".join(f"{p} in {u!r} ({n})" for p, u, n in odd) or "none found"
        raise StoreError(
            f"cannot convert {stored - converted} of {stored} readings: units Chairside does"
            f" not use: {shown}; the store is left as it was"
        )
    _run_script(conn, READING_VIEWS)


# A summary is computed from its session's row, readings, episodes, acknowledgments and
# events: every change to one of them counts in session_changes, and a stored summary is
# served only while the count it was computed from is still the count (and it was computed
# by the same code and presets, its stamp). Readings count for the ended sessions whose
# window they fall in, widened by an hour before the start for the pre-dose baseline; live
# readings fall in no ended session, so acquisition pays one index probe a reading.
SUMMARY_TABLES = """
    CREATE TABLE session_summaries (
        session INTEGER PRIMARY KEY REFERENCES sessions (id),
        stamp TEXT NOT NULL,
        changes INTEGER NOT NULL,
        computed_us INTEGER NOT NULL,
        summary_json TEXT NOT NULL
    );
    CREATE TABLE session_changes (session INTEGER PRIMARY KEY, changes INTEGER NOT NULL);
"""
# (trigger, event, the sessions it touches): one trigger each, the same body.
MINE = "SELECT NEW.session AS session WHERE NEW.session IS NOT NULL"


def _sessions_around(row: str) -> str:
    """The ended sessions whose summaries a reading (``NEW`` or ``OLD``) is an input of."""
    return (
        "SELECT id AS session FROM sessions"  # noqa: S608 (row is NEW or OLD)
        f" WHERE chair = (SELECT chair FROM chair_keys WHERE key = {row}.chair_key)"
        f" AND ended_us >= {row}.t_us AND started_us <= {row}.t_us + 3600000000"
    )


SUMMARY_INPUTS = (
    ("readings_change_summaries", "INSERT ON readings", _sessions_around("NEW")),
    ("sessions_change_summaries", "UPDATE ON sessions", "SELECT NEW.id AS session"),
    ("events_change_summaries", "INSERT ON events", MINE),
    ("episodes_change_summaries_i", "INSERT ON episodes", MINE),
    ("episodes_change_summaries_u", "UPDATE ON episodes", MINE),
    (
        "acknowledgments_change_summaries",
        "INSERT ON acknowledgments",
        "SELECT session FROM episodes WHERE id = NEW.episode AND session IS NOT NULL",
    ),
)


def _summary_triggers(inputs: tuple[tuple[str, str, str], ...] = SUMMARY_INPUTS) -> str:
    return "".join(
        f"CREATE TRIGGER {name} AFTER {event} BEGIN"  # noqa: S608 (the constants above)
        f" INSERT INTO session_changes (session, changes) SELECT session, 1 FROM ({touched})"
        " WHERE 1 ON CONFLICT (session) DO UPDATE SET changes = changes + 1;"
        " END;\n"
        for name, event, touched in inputs
    )


# Indexes for pages that read only what they show: the session list newest first, one
# patient's course, a chair's last session end (and the readings trigger above), and the
# overview's open or latched-critical episodes. sessions_chair_started served none of them.
PAGE_INDEXES = """
    DROP INDEX sessions_chair_started;
    CREATE INDEX sessions_chair_ended ON sessions (chair, ended_us);
    CREATE INDEX sessions_started ON sessions (started_us);
    CREATE INDEX sessions_patient ON sessions (patient, started_us);
    CREATE INDEX episodes_visible ON episodes (chair) WHERE ended_us IS NULL OR level = 'critical';
"""


def m008_summaries_and_page_indexes(conn: sqlite3.Connection) -> None:
    """Stored session summaries that know when they are stale, and the indexes the pages use."""
    _run_script(conn, SUMMARY_TABLES)
    _run_script(conn, _summary_triggers())
    _run_script(conn, PAGE_INDEXES)


def m009_notifications(conn: sqlite3.Connection) -> None:
    """Alarm forwarding: every notification tried (append-only audit), the stations watching,
    and the notifier's own state (its channels, what is wrong with them)."""
    _run_script(
        conn,
        """
        CREATE TABLE notifications (
            id INTEGER PRIMARY KEY,
            episode INTEGER NOT NULL REFERENCES episodes (id),
            chair TEXT,
            step TEXT NOT NULL,
            channel TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            attempt INTEGER NOT NULL,
            sent_us INTEGER NOT NULL,
            done_us INTEGER NOT NULL,
            delivered INTEGER NOT NULL CHECK (delivered IN (0, 1)),
            error TEXT NOT NULL DEFAULT '',
            message TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX notifications_episode ON notifications (episode, sent_us);
        CREATE TRIGGER notifications_append_only_u BEFORE UPDATE ON notifications
            BEGIN SELECT RAISE(ABORT, 'notifications are an audit trail: never updated'); END;
        CREATE TRIGGER notifications_append_only_d BEFORE DELETE ON notifications
            BEGIN SELECT RAISE(ABORT, 'notifications are an audit trail: never deleted'); END;
        CREATE TABLE stations (
            station TEXT PRIMARY KEY,
            by TEXT NOT NULL,
            seen_us INTEGER NOT NULL
        );
        CREATE TABLE notifier (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            started_us INTEGER NOT NULL,
            beat_us INTEGER NOT NULL,
            stopped_us INTEGER,
            problem TEXT NOT NULL DEFAULT '',
            channels_json TEXT NOT NULL DEFAULT '{}'
        );
        CREATE VIEW notifications_v AS
            SELECT n.episode, n.chair, e.level, e.kind, e.rule, n.step, n.channel, n.target,
                   n.attempt,
                   strftime('%Y-%m-%dT%H:%M:%fZ', n.sent_us / 1000000.0, 'unixepoch') AS sent_utc,
                   strftime('%Y-%m-%dT%H:%M:%fZ', n.done_us / 1000000.0, 'unixepoch') AS done_utc,
                   n.delivered, n.error
            FROM notifications n JOIN episodes e ON e.id = n.episode;
        """,
    )


def m010_recorder_supervision(conn: sqlite3.Connection) -> None:
    """Which recorder writes (its host), each chair's silence limit for the dashboard's own
    "no current data" judgement, and a device's survived failures and short drop-outs."""
    _run_script(
        conn,
        """
        ALTER TABLE heartbeat ADD COLUMN host TEXT NOT NULL DEFAULT '';
        ALTER TABLE chairs ADD COLUMN no_data_after_s REAL NOT NULL DEFAULT 15;
        ALTER TABLE device_state ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE device_state ADD COLUMN dropouts INTEGER NOT NULL DEFAULT 0;
        """,
    )


def m011_audit_chain(conn: sqlite3.Connection) -> None:
    """Chain every change to sessions, events, acknowledgments and episodes (tamper evidence;
    see vitals/store/chain.py); what is already stored becomes the chain's first links."""
    chain.install(conn, chain.CHAINED_WITH_RULES_TEXT)


def m012_central_relay(conn: sqlite3.Connection) -> None:
    """Copying to a central store (see vitals/store/relay.py): the outbox of readings not yet
    confirmed by the central store, the relay's state (watermarks, lag, last error), and, on a
    SQLite store that is itself the central one, the map of each site's ids to its own. The
    outbox stays empty, and costs nothing, until forwarding is first enabled: only then is
    the trigger that fills it installed."""
    _run_script(
        conn,
        """
        CREATE TABLE relay_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            chair_key INTEGER NOT NULL,
            param_key INTEGER NOT NULL,
            t_us INTEGER NOT NULL,
            seq INTEGER NOT NULL
        );
        CREATE TABLE relay_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            site TEXT NOT NULL,
            store_id INTEGER NOT NULL,  -- this store among those that may claim the site
            target TEXT NOT NULL,
            enabled_us INTEGER NOT NULL,
            links_sent INTEGER NOT NULL DEFAULT 0,
            readings_sent INTEGER NOT NULL DEFAULT 0,
            backfill_json TEXT,
            beat_us INTEGER,
            last_success_us INTEGER,
            down_since_us INTEGER,
            last_error TEXT NOT NULL DEFAULT '',
            failures INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE forwarded_ids (
            site TEXT NOT NULL,
            kind TEXT NOT NULL,
            local_id INTEGER NOT NULL,
            central_id INTEGER NOT NULL,
            PRIMARY KEY (site, kind, local_id)
        );
        """,
    )


def m013_chain_level_seen(conn: sqlite3.Connection) -> None:
    """The audit chain covers the level the nurse saw when she acknowledged (m006): an edit of
    it is found by ``verify``, and the relay copies it to the central store. The triggers are
    re-created with the column and every acknowledgment is linked again with all of it."""
    chain.relink(conn, "acknowledgments")


# A view's time text as m001-m009 wrote it: strftime's %f rounds to the millisecond.
ROUNDED_TIME_TEXT = re.compile(
    r"strftime\('%Y-%m-%dT%H:%M:%fZ', ([\w.]+) / 1000000\.0, 'unixepoch'\)"
)
TRUNCATED_TIME_TEXT = r"strftime('%Y-%m-%dT%H:%M:%fZ', (\1 / 1000) / 1000.0, 'unixepoch')"


def m014_view_times_truncated(conn: sqlite3.Connection) -> None:
    """The views' time text truncates to the millisecond, as PostgreSQL's views (pg001) and ISO
    times do: SQLite's %f rounded, so 12:43:56.999999 read 12:43:57.000 on a site and
    12:43:56.999 centrally, and a diff of the two records found times that are one. Every view
    is re-created with only its time expressions changed (whole milliseconds first, which
    strftime renders exactly)."""
    views = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'view' AND sql LIKE '%strftime(%'"
        " ORDER BY name"
    ).fetchall()
    for name, sql in views:
        conn.execute(f'DROP VIEW "{name}"')
        conn.execute(ROUNDED_TIME_TEXT.sub(TRUNCATED_TIME_TEXT, sql))


# Rule sets stored once each, keyed by the SHA-256 of their text (vitals/store/rule_sets.py),
# append-only like events; sessions name theirs by that digest.
RULE_SETS = f"""
    CREATE TABLE rule_sets (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
        rules_json TEXT NOT NULL
    );
    CREATE TRIGGER {rule_sets.APPEND_ONLY[0]} BEFORE UPDATE ON rule_sets
        BEGIN SELECT RAISE(ABORT, '{rule_sets.REFUSAL}: never updated'); END;
    CREATE TRIGGER {rule_sets.APPEND_ONLY[1]} BEFORE DELETE ON rule_sets
        BEGIN SELECT RAISE(ABORT, '{rule_sets.REFUSAL}: never deleted'); END;
"""
# SQLite adds a column NOT NULL only with a default, and a REFERENCES column only with a NULL
# one: the reference is the column's, "never NULL" is these triggers'.
SESSIONS_NAME_THEIR_RULES = """
    CREATE TRIGGER sessions_name_their_rules_i BEFORE INSERT ON sessions
        WHEN NEW.rules_sha256 IS NULL
        BEGIN SELECT RAISE(ABORT, 'a session names its rule set (rules_sha256)'); END;
    CREATE TRIGGER sessions_name_their_rules_u BEFORE UPDATE OF rules_sha256 ON sessions
        WHEN NEW.rules_sha256 IS NULL
        BEGIN SELECT RAISE(ABORT, 'a session names its rule set (rules_sha256)'); END;
"""
QUIET_WHILE_SESSIONS_CHANGE = (
    *(chain.trigger_name("sessions", op) for op in chain.CHANGES),
    "sessions_change_summaries",  # the rules are the same: the summaries stay current
)


def m015_rule_sets(conn: sqlite3.Connection) -> None:
    """Each rule set stored once, chained and append-only; sessions name theirs by digest
    instead of holding the 5 KB text (which the chain repeated with every change of a
    session). The sessions' triggers are set aside while the column is converted; the
    summaries' one comes back as it was, the chain's are re-created by ``relink``, which
    links every rule set, then every session again, with its content now."""
    _run_script(conn, RULE_SETS)
    (summaries,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'sessions_change_summaries'"
    ).fetchone()
    for name in QUIET_WHILE_SESSIONS_CHANGE:
        conn.execute(f'DROP TRIGGER "{name}"')
    conn.execute("ALTER TABLE sessions ADD COLUMN rules_sha256 TEXT REFERENCES rule_sets (sha256)")
    rule_sets.move_out_of_sessions(conn)
    conn.execute("ALTER TABLE sessions DROP COLUMN rules_json")
    conn.execute(summaries)
    _run_script(conn, SESSIONS_NAME_THEIR_RULES)
    chain.relink(conn, "rule_sets")
    chain.relink(conn, "sessions")


# Chairside only ever adds readings; one edited or deleted by other means (a database tool,
# a correction by hand) changes what the sessions around it were summarised from, before
# and, for an edit, after: those summaries count a change and are computed again.
READING_EDITS = (
    (
        "readings_edit_change_summaries",
        "UPDATE ON readings",
        f"{_sessions_around('OLD')} UNION {_sessions_around('NEW')}",
    ),
    ("readings_delete_change_summaries", "DELETE ON readings", _sessions_around("OLD")),
)


def m016_reading_edits_change_summaries(conn: sqlite3.Connection) -> None:
    """A reading edited or deleted after the fact makes its sessions' stored summaries stale,
    as an added one always did (m008): the list never serves figures the data no longer give."""
    _run_script(conn, _summary_triggers(READING_EDITS))


MIGRATIONS: list[Migration] = [
    m001_readings_and_devices,
    m002_sessions_events_episodes,
    m003_device_state_per_device,
    m004_chair_heart_rate_and_episode_hygiene,
    m005_device_state_unused,
    m006_acknowledgment_level_seen,
    m007_compact_readings,
    m008_summaries_and_page_indexes,
    m009_notifications,
    m010_recorder_supervision,
    m011_audit_chain,
    m012_central_relay,
    m013_chain_level_seen,
    m014_view_times_truncated,
    m015_rule_sets,
    m016_reading_edits_change_summaries,
]


def applied(conn: sqlite3.Connection) -> list[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_utc TEXT NOT NULL)"
    )
    return [row[0] for row in conn.execute("SELECT name FROM migrations ORDER BY rowid")]


def pending(conn: sqlite3.Connection) -> list[Migration]:
    """What ``migrate`` would apply; refuses a database written by a newer Chairside."""
    return still_to_apply(applied(conn), MIGRATIONS)


def still_to_apply(done: Sequence[str], known: Sequence[Callable]) -> list[Callable]:
    """The ``known`` migrations not ``done``; a name done but not known means a newer
    Chairside wrote the store (both engines' migrations)."""
    names = [m.__name__ for m in known]
    unknown = [name for name in done if name not in names]
    if unknown:
        raise StoreError(
            f"database has migrations this Chairside does not know: {unknown}; it was written "
            "by a newer version: install that version (or newer) again"
        )
    return [m for m in known if m.__name__ not in done]


def apply_each(
    conn: sqlite3.Connection,
    todo: Sequence[Callable],
    done: Callable[[sqlite3.Connection], list[str]],
    begin: Sequence[tuple[str, tuple]] = (("BEGIN IMMEDIATE", ()),),
) -> list[str]:
    """Each migration in one transaction with its record (``begin``: the statements that
    open it and make this process the only migrating one); one that fails leaves no trace."""
    newly = []
    for migration in todo:
        for statement, params in begin:
            conn.execute(statement, params)
        try:
            if migration.__name__ in done(conn):  # another process was quicker
                conn.execute("COMMIT")
                continue
            migration(conn)
            conn.execute(
                "INSERT INTO migrations (name, applied_utc) VALUES (?, ?)",
                (migration.__name__, datetime.now(UTC).isoformat()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        newly.append(migration.__name__)
    return newly


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply what is missing; refuse a database written by a newer Chairside."""
    newly = apply_each(conn, pending(conn), applied)
    if newly:
        _reclaim(conn)
    return newly


def _reclaim(conn: sqlite3.Connection) -> None:
    """Give the disk back when a migration freed most of the file (a table converted into a
    smaller one): SQLite keeps freed pages inside the file until VACUUM rewrites it."""
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    (free,) = conn.execute("PRAGMA freelist_count").fetchone()
    if free * 2 > pages:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
