"""SQL statements and row shapes shared by the writer and the queries.

Written once for both engines (SQLite and PostgreSQL, ``vitals.store.pg``): upserts with
``ON CONFLICT``, ``IS NOT DISTINCT FROM`` for a comparison that matches NULL, ``LIKE`` rather
than ``GLOB``, ``CASE`` rather than SQLite's two-argument ``max``, ``RETURNING`` for new ids.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from vitals.chairs import Chair
from vitals.device_state import DeviceState
from vitals.engine import Episode
from vitals.reading import NIBP_PARAMS, Reading
from vitals.rules import Rule, RuleSet
from vitals.times import to_us

# Names become keys inside the statement, so no writer keeps a cache that a rolled-back
# transaction could leave wrong; a name missing from its table fails NOT NULL, loudly. ``seq``
# counts the readings already stored under the same chair, parameter and time (almost always
# none), so a repeat is kept beside the first, never dropped or overwritten.
INSERT_READING = """
    INSERT INTO readings
        (chair_key, param_key, t_us, seq, value, quality_key, source_key, device_offset_us)
    VALUES (
        (SELECT key FROM chair_keys WHERE chair = ?1),
        (SELECT key FROM params WHERE param = ?2 AND unit = ?3),
        ?4,
        (SELECT count(*) FROM readings
         WHERE chair_key = (SELECT key FROM chair_keys WHERE chair = ?1)
           AND param_key = (SELECT key FROM params WHERE param = ?2 AND unit = ?3)
           AND t_us = ?4),
        ?5,
        (SELECT key FROM qualities WHERE quality = ?6),
        (SELECT key FROM sources WHERE source = ?7),
        ?8)
"""
# A name gets a key only when it has none: an insert that conflicts would still use up a
# number of PostgreSQL's key sequence, once a batch, until the integer keys run out.
NEW_CHAIR_KEY = """
    INSERT INTO chair_keys (chair) SELECT ?1
    WHERE NOT EXISTS (SELECT 1 FROM chair_keys WHERE chair = ?1) ON CONFLICT (chair) DO NOTHING
"""
NEW_PARAM_KEY = """
    INSERT INTO params (param, unit) SELECT ?1, ?2
    WHERE NOT EXISTS (SELECT 1 FROM params WHERE param = ?1) ON CONFLICT (param) DO NOTHING
"""
NEW_SOURCE_KEY = """
    INSERT INTO sources (source) SELECT ?1
    WHERE NOT EXISTS (SELECT 1 FROM sources WHERE source = ?1) ON CONFLICT (source) DO NOTHING
"""

# A reading left in the spool by a recorder that died may already be in the store (it died
# between the commit and emptying the spool): it is inserted only when the store does not
# hold the same reading yet. (Readings of one chunk share their receipt time, so the whole
# reading is compared, not its time alone.)
INSERT_READING_IF_ABSENT = """
    INSERT INTO readings
        (chair_key, param_key, t_us, seq, value, quality_key, source_key, device_offset_us)
    SELECT c.key, p.key, ?4,
           (SELECT count(*) FROM readings
            WHERE chair_key = c.key AND param_key = p.key AND t_us = ?4),
           ?5, (SELECT key FROM qualities WHERE quality = ?6), s.key, ?8
    FROM chair_keys c, params p, sources s
    WHERE c.chair = ?1 AND p.param = ?2 AND p.unit = ?3 AND s.source = ?7
      AND NOT EXISTS (SELECT 1 FROM readings r
                      WHERE r.chair_key = c.key AND r.param_key = p.key AND r.t_us = ?4
                        AND r.source_key = s.key AND r.device_offset_us IS NOT DISTINCT FROM ?8
                        AND r.value IS NOT DISTINCT FROM ?5)
"""

UPSERT_DEVICE_STATE = """
    INSERT INTO device_state
        (chair, device, state, since_us, frames_ok, frames_bad, reconnects, last_error,
         last_data_us, updated_us, unused_json, failures, dropouts)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (chair, device) DO UPDATE SET
        state = excluded.state, since_us = excluded.since_us, frames_ok = excluded.frames_ok,
        frames_bad = excluded.frames_bad, reconnects = excluded.reconnects,
        last_error = excluded.last_error, last_data_us = excluded.last_data_us,
        updated_us = excluded.updated_us, unused_json = excluded.unused_json,
        failures = excluded.failures, dropouts = excluded.dropouts
"""

UPSERT_CHAIR = """
    INSERT INTO chairs (chair, name, position, port, protocol, heart_rate_json, no_data_after_s)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (chair) DO UPDATE SET name = excluded.name, position = excluded.position,
        port = excluded.port, protocol = excluded.protocol,
        heart_rate_json = excluded.heart_rate_json, no_data_after_s = excluded.no_data_after_s
"""

UPSERT_HEARTBEAT = """
    INSERT INTO heartbeat (id, pid, host, started_us, beat_us, stopped_us)
    VALUES (1, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host,
        started_us = excluded.started_us, beat_us = excluded.beat_us,
        stopped_us = excluded.stopped_us
"""


def reading_row(r: Reading) -> tuple:
    """The parameters of INSERT_READING for one stamped reading."""
    if r.time is None or not r.chair:
        raise ValueError(f"reading {r!r} has no recorder time or chair; stamp it first")
    t_us = to_us(r.time)
    offset = to_us(r.device_time) - t_us if r.device_time else None
    return (r.chair, r.param.value, r.unit, t_us, r.value, r.quality.value, r.source, offset)


def insert_readings(
    conn: sqlite3.Connection, rows: Sequence[tuple], if_absent: bool = False
) -> None:
    """Store ``reading_row`` tuples, first giving any new chair, parameter or source its key;
    ``if_absent``: skip a reading the store already holds (a spool left by a dead recorder)."""
    conn.executemany(NEW_CHAIR_KEY, {(row[0],) for row in rows})
    conn.executemany(NEW_PARAM_KEY, {(row[1], row[2]) for row in rows})
    conn.executemany(NEW_SOURCE_KEY, {(row[6],) for row in rows})
    conn.executemany(INSERT_READING_IF_ABSENT if if_absent else INSERT_READING, rows)


def device_state_row(s: DeviceState, now_us: int) -> tuple:
    last_data = to_us(s.last_data) if s.last_data else None
    return (
        s.chair,
        s.device,
        s.state.value,
        to_us(s.since),
        s.frames_ok,
        s.frames_bad,
        s.reconnects,
        s.last_error,
        last_data,
        now_us,
        json.dumps(s.unused, sort_keys=True),
        s.failures,
        s.dropouts,
    )


# The newest reading of one chair's parameter: one probe at the end of its key range.
LATEST_VALUE = """
    SELECT r.value FROM readings r
    WHERE r.chair_key = (SELECT key FROM chair_keys WHERE chair = ?)
      AND r.param_key = (SELECT key FROM params WHERE param = ?)
    ORDER BY r.t_us DESC, r.seq DESC LIMIT 1
"""


def latest_nibp(conn: sqlite3.Connection, chair: str) -> dict[str, float | None]:
    latest = {}
    for param in NIBP_PARAMS:
        row = conn.execute(LATEST_VALUE, (chair, param.value)).fetchone()
        if row is not None:
            latest[param.value] = row[0]
    return latest


UPSERT_EPISODE = """
    INSERT INTO episodes (chair, session, rule, rule_json, param, kind, level, started_us,
                          ended_us, peak_value, peak_us, reason, triggers_json)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (chair, rule, started_us) DO UPDATE SET
        level = excluded.level, ended_us = excluded.ended_us, peak_value = excluded.peak_value,
        peak_us = excluded.peak_us, reason = excluded.reason, triggers_json = excluded.triggers_json
"""

# Episodes the link owns (disconnected, no data) end when a recorder starts again: a new run
# cannot continue them. The alert engine's own episodes are re-judged instead (chairside.alerts).
# What the engine left open when the recorder stopped ends at the recorder's last heartbeat,
# saying so; the restarted engine's replay continues, under the same start, what still holds.
CLOSE_ENGINE_EPISODES = """
    UPDATE episodes SET ended_us = ?, reason = reason || ?
    WHERE chair IS NOT DISTINCT FROM ? AND ended_us IS NULL
      AND (kind = 'clinical' OR rule LIKE 'invalid-%' OR rule = 'nibp-overdue')
"""
CLOSE_LINK_EPISODES = """
    UPDATE episodes SET ended_us = ?, reason = reason || ?
    WHERE chair IS NOT DISTINCT FROM ? AND ended_us IS NULL
      AND rule IN ('device-disconnected', 'no-data')
"""


def episode_row(chair: str | None, session: int | None, e: Episode) -> tuple:
    return (
        chair,
        session,
        e.rule,
        json.dumps(dict(e.rule_snapshot)),
        e.param.value if e.param else None,
        e.kind,
        e.level.label,
        to_us(e.started),
        to_us(e.ended) if e.ended else None,
        e.peak_value,
        to_us(e.peak_time) if e.peak_time else None,
        e.reason,
        json.dumps([to_us(t) for t in e.triggers]),
    )


def rules_json(rules: RuleSet) -> str:
    return json.dumps([r.to_dict() for r in rules.rules])


def rules_from_json(text: str) -> RuleSet:
    return RuleSet(tuple(Rule.from_dict(r) for r in json.loads(text)))


def chair_row(chair: Chair, position: int) -> tuple:
    """A chair for the chairs table; several devices are listed together."""
    ports = ", ".join(d.port for d in chair.devices)
    protocols = ", ".join(d.protocol for d in chair.devices)
    sources = chair.heart_rate_sources
    heart_rate = json.dumps({"order": sources.names(), "stale_s": sources.stale_s})
    return (chair.id, chair.name, position, ports, protocols, heart_rate, chair.no_data_after_s)


def session_at(conn: sqlite3.Connection, chair: str, at_us: int) -> int | None:
    """The chair's session that was open at ``at_us``, if any."""
    row = conn.execute(
        "SELECT id FROM sessions WHERE chair = ? AND started_us <= ?"
        " AND (ended_us IS NULL OR ended_us > ?) ORDER BY started_us DESC LIMIT 1",
        (chair, at_us, at_us),
    ).fetchone()
    return row[0] if row else None
