"""Alarm forwarding in the store: the notification audit, station heartbeats, notifier state.

The notifier reads what needs a person through a read-only connection and writes through
the recorder's single writer (``StoreWriter.write_notification`` / ``write_notifier_state``);
each open overview records that a station is watching through ``station_seen``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from vitals.engine import TECHNICAL, Episode
from vitals.escalation import Attempt
from vitals.lazy import lazy
from vitals.reading import utc_now
from vitals.rules import Level
from vitals.sessions import check_person
from vitals.store.commands import transaction
from vitals.store.queries import CURRENT, read_frame
from vitals.times import from_us, to_us

pd = lazy("pandas")

INSERT_NOTIFICATION = """
    INSERT INTO notifications (episode, chair, step, channel, target, attempt, sent_us, done_us,
                               delivered, error, message)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

UPSERT_NOTIFIER = """
    INSERT INTO notifier (id, started_us, beat_us, stopped_us, problem, channels_json)
    VALUES (1, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET started_us = excluded.started_us,
        beat_us = excluded.beat_us, stopped_us = excluded.stopped_us,
        problem = excluded.problem, channels_json = excluded.channels_json
"""

# Chair-less episodes cannot be updated through the episodes' upsert (NULL never conflicts
# in a UNIQUE key), so the station episode is ended by its own statement.
END_CHAIRLESS_EPISODE = """
    UPDATE episodes SET ended_us = ?, reason = reason || ?
    WHERE chair IS NULL AND rule = ? AND started_us = ? AND ended_us IS NULL
"""


@dataclass(frozen=True)
class Notification:
    """One send to one channel, as the audit keeps it."""

    episode: int
    chair: str | None
    step: str
    channel: str
    target: str
    attempt: int
    sent: datetime
    done: datetime
    delivered: bool
    error: str
    message: str

    def row(self) -> tuple:
        return (
            self.episode,
            self.chair,
            self.step,
            self.channel,
            self.target,
            self.attempt,
            to_us(self.sent),
            to_us(self.done),
            int(self.delivered),
            self.error,
            self.message,
        )


@dataclass(frozen=True)
class PendingAlarm:
    """An episode that still needs a person: open and unacknowledged, or critical, recovered
    and still unacknowledged (latched)."""

    episode: int
    chair: str | None
    chair_name: str
    rule: str
    kind: str
    level: str
    started: datetime
    ended: datetime | None
    reason: str


PENDING_SELECT = """
    SELECT e.id, e.chair, coalesce(c.name, e.chair, ''), e.rule, e.kind, e.level, e.started_us,
           e.ended_us, e.reason
    FROM episodes e LEFT JOIN chairs c ON c.chair = e.chair
    WHERE NOT EXISTS (SELECT 1 FROM acknowledgments a WHERE a.episode = e.id)
      AND (e.ended_us IS NULL OR e.level = 'critical') AND"""
# constant fragments only: nothing here comes from outside
PENDING = PENDING_SELECT + CURRENT + " ORDER BY e.started_us, e.id"


def pending_alarms(conn: sqlite3.Connection) -> list[PendingAlarm]:
    """What the ladder works on, read every second (plain tuples, no pandas)."""
    return [
        PendingAlarm(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            from_us(row[6]),
            from_us(row[7]) if row[7] is not None else None,
            row[8],
        )
        for row in conn.execute(PENDING)
    ]


def attempts(conn: sqlite3.Connection, episodes: list[int]) -> list[Attempt]:
    if not episodes:  # PostgreSQL has no empty IN ()
        return []
    rows = conn.execute(
        # only placeholders are formatted in; every episode is a bound parameter
        "SELECT episode, step, channel, sent_us, delivered FROM notifications"  # noqa: S608
        f" WHERE episode IN ({', '.join('?' * len(episodes))})",
        tuple(episodes),
    )
    return [Attempt(e, s, c, from_us(t), bool(d)) for e, s, c, t, d in rows]


def last_station_seen(conn: sqlite3.Connection) -> datetime | None:
    (seen,) = conn.execute("SELECT max(seen_us) FROM stations").fetchone()
    return from_us(seen) if seen is not None else None


def any_open_session(conn: sqlite3.Connection) -> bool:
    return (
        conn.execute("SELECT 1 FROM sessions WHERE ended_us IS NULL LIMIT 1").fetchone() is not None
    )


def open_technical_episode(conn: sqlite3.Connection, rule: str) -> Episode | None:
    """The newest open chair-less technical episode of ``rule`` (one a previous run left)."""
    row = conn.execute(
        "SELECT started_us, level, reason FROM episodes WHERE chair IS NULL AND rule = ?"
        " AND kind = 'technical' AND ended_us IS NULL ORDER BY started_us DESC LIMIT 1",
        (rule,),
    ).fetchone()
    if row is None:
        return None
    return Episode(rule, TECHNICAL, Level.parse(row[1]), from_us(row[0]), reason=row[2])


def station_seen(db: Path, station: str, by: str, at: datetime | None = None) -> None:
    """An open overview says it is watching (its station id, the nurse signed in)."""
    by, at = check_person(by), at or utc_now()
    with transaction(db) as conn:
        conn.execute(
            'INSERT INTO stations (station, "by", seen_us) VALUES (?, ?, ?) ON CONFLICT (station)'
            ' DO UPDATE SET "by" = excluded."by", seen_us = excluded.seen_us',
            (station[:64], by, to_us(at)),
        )


def notifier_status(conn: sqlite3.Connection) -> dict | None:
    """The notifier's last word (None when alarm forwarding never ran on this store, or the
    store predates it)."""
    try:
        row = conn.execute(
            "SELECT started_us, beat_us, stopped_us, problem, channels_json FROM notifier"
        ).fetchone()
    except sqlite3.OperationalError:  # no such table: no recorder of this version ran yet
        return None
    if row is None:
        return None
    started, beat, stopped, problem, channels = row
    return {
        "started": from_us(started),
        "beat": from_us(beat),
        "stopped": from_us(stopped) if stopped is not None else None,
        "problem": problem,
        "channels": json.loads(channels),
    }


def session_notifications(
    conn: sqlite3.Connection, session: int, chair: str, start: datetime, end: datetime
) -> pd.DataFrame:
    """Notifications about a session's alarms, and about its chair's and the station's
    technical alarms while it ran, with who acknowledged each alarm: the audit for review."""
    frame = read_frame(
        conn,
        """
        SELECT n.sent_us, n.done_us, e.level, e.kind, e.reason, n.step, n.channel, n.target,
               n.attempt, n.delivered, n.error,
               (SELECT "by" FROM acknowledgments WHERE episode = n.episode ORDER BY t_us, id
                LIMIT 1) AS acked_by,
               (SELECT min(t_us) FROM acknowledgments WHERE episode = n.episode) AS acked_us
        FROM notifications n JOIN episodes e ON e.id = n.episode
        WHERE e.session = ?
           OR (e.session IS NULL AND (e.chair = ? OR e.chair IS NULL)
               AND n.sent_us >= ? AND n.sent_us <= ?)
        ORDER BY n.sent_us, n.id
        """,
        (session, chair, to_us(start), to_us(end)),
        sent="sent_us",
        done="done_us",
        acked="acked_us",
    )
    frame["delivered"] = frame["delivered"].astype(bool)
    return frame
