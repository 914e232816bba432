"""SQL statements and row shapes shared by the writer and the queries."""

from __future__ import annotations

import json
import sqlite3

from vitals.chairs import Chair
from vitals.device_state import DeviceState
from vitals.engine import Episode
from vitals.reading import NIBP_PARAMS, Reading
from vitals.rules import Rule, RuleSet
from vitals.times import to_us

INSERT_READING = (
    "INSERT INTO readings (chair, t_us, device_us, param, value, unit, quality, source)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

# A reading left in the spool by a recorder that died may already be in the store (it died
# between the commit and emptying the spool): it is inserted only when the store does not
# hold the same reading yet. (Readings of one chunk share their receipt time, so the whole
# reading is compared, not its time alone.)
INSERT_READING_IF_ABSENT = (
    "INSERT INTO readings (chair, t_us, device_us, param, value, unit, quality, source)"
    " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE NOT EXISTS (SELECT 1 FROM readings"
    " WHERE chair = ?1 AND param = ?4 AND t_us = ?2 AND source = ?8 AND device_us IS ?3"
    " AND value IS ?5)"
)

UPSERT_DEVICE_STATE = """
    INSERT INTO device_state
        (chair, device, state, since_us, frames_ok, frames_bad, reconnects, last_error,
         last_data_us, updated_us, failures, dropouts)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (chair, device) DO UPDATE SET
        state = excluded.state, since_us = excluded.since_us, frames_ok = excluded.frames_ok,
        frames_bad = excluded.frames_bad, reconnects = excluded.reconnects,
        last_error = excluded.last_error, last_data_us = excluded.last_data_us,
        updated_us = excluded.updated_us, failures = excluded.failures,
        dropouts = excluded.dropouts
"""

UPSERT_CHAIR = """
    INSERT INTO chairs (chair, name, position, port, protocol, no_data_after_s)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (chair) DO UPDATE SET name = excluded.name, position = excluded.position,
        port = excluded.port, protocol = excluded.protocol,
        no_data_after_s = excluded.no_data_after_s
"""

UPSERT_HEARTBEAT = """
    INSERT INTO heartbeat (id, pid, host, started_us, beat_us, stopped_us)
    VALUES (1, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host,
        started_us = excluded.started_us, beat_us = excluded.beat_us,
        stopped_us = excluded.stopped_us
"""


def reading_row(r: Reading) -> tuple:
    if r.time is None or not r.chair:
        raise ValueError(f"reading {r!r} has no recorder time or chair; stamp it first")
    device_us = to_us(r.device_time) if r.device_time else None
    return (
        r.chair,
        to_us(r.time),
        device_us,
        r.param.value,
        r.value,
        r.unit,
        r.quality.value,
        r.source,
    )


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
        s.failures,
        s.dropouts,
    )


def latest_nibp(conn: sqlite3.Connection, chair: str) -> dict[str, float | None]:
    latest = {}
    for param in NIBP_PARAMS:
        row = conn.execute(
            "SELECT value FROM readings WHERE chair = ? AND param = ? ORDER BY t_us DESC LIMIT 1",
            (chair, param.value),
        ).fetchone()
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

# Episodes the alert engine owns (clinical, invalid readings, overdue checks) and those the
# link owns (disconnected, no data): each owner ends only its own after a restart.
CLOSE_ENGINE_EPISODES = """
    UPDATE episodes SET ended_us = ?, reason = reason || ?
    WHERE chair IS ? AND ended_us IS NULL
      AND (kind = 'clinical' OR rule GLOB 'invalid-*' OR rule = 'nibp-overdue')
"""
CLOSE_LINK_EPISODES = """
    UPDATE episodes SET ended_us = ?, reason = reason || ?
    WHERE chair IS ? AND ended_us IS NULL AND rule IN ('device-disconnected', 'no-data')
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
    return (chair.id, chair.name, position, ports, protocols, chair.no_data_after_s)


def session_at(conn: sqlite3.Connection, chair: str, at_us: int) -> int | None:
    """The chair's session that was open at ``at_us``, if any."""
    row = conn.execute(
        "SELECT id FROM sessions WHERE chair = ? AND started_us <= ?"
        " AND (ended_us IS NULL OR ended_us > ?) ORDER BY started_us DESC LIMIT 1",
        (chair, at_us, at_us),
    ).fetchone()
    return row[0] if row else None
