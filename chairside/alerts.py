"""Live alerting for one chair: the core's pure engine, fed as readings are committed.

Which rules apply comes from the store (an open session's protocol and overrides, or the
monitor limits when no session is open), so the command line and the dashboard can change
them while the recorder runs. On every change of rules, dose time or session, and at start,
the engine is rebuilt and the relevant stored readings replayed through it: the same code
as review, so a restarted recorder continues its episodes instead of inventing new ones.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from vitals.clinical import NO_SESSION, load_protocol
from vitals.engine import TECHNICAL, AlertEngine, Episode
from vitals.reading import Param, Quality, Reading
from vitals.rules import Level
from vitals.schedule import overdue_checks
from vitals.sessions import Session
from vitals.store import StoreWriter, connect_readonly, queries
from vitals.times import to_us
from vitals.verdict import session_baselines

REFRESH_S = 1.0
NO_SESSION_REPLAY = timedelta(hours=2)


class ChairAlerts:
    """One chair's alerting, shared by the workers of its devices under one lock."""

    def __init__(self, chair: str, writer: StoreWriter) -> None:
        self.chair, self.writer = chair, writer
        self.lock = threading.RLock()
        self._reader: sqlite3.Connection | None = None
        self._reader_generation = writer.generation
        self._stale: list[sqlite3.Connection] = []
        self.session: Session | None = None
        self.engine = AlertEngine(load_protocol(NO_SESSION).rules)
        self._signature: tuple | None = ("unbuilt",)
        self._nibp_checks: list[datetime] = []
        self._overdue_written: dict[datetime, datetime | None] = {}

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._reader is not None and self._reader_generation != self.writer.generation:
            # The writer wrote back a deleted file: read the new one. The old reader is kept
            # open, as the writer keeps its own: its close could unlink the new file's WAL.
            self._stale.append(self._reader)
            self._reader = None
        if self._reader is None:
            self._reader = connect_readonly(Path(self.writer.path), check_same_thread=False)
            self._reader_generation = self.writer.generation
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def invalidate(self) -> None:
        """After a failed evaluation: rebuild from the stored readings at the next refresh."""
        with self.lock:
            self._signature = ("invalidated",)

    def refresh(self, now: datetime) -> None:
        """Pick up session and rule changes; raise or end overdue BP checks."""
        with self.lock:
            self._refresh(now)

    def _refresh(self, now: datetime) -> None:
        session = queries.active_session(self._conn, self.chair)
        signature = (session.id, session.rules_changed, session.dose_time) if session else None
        if signature != self._signature:
            self._rebuild(session, now)
            self._signature = signature
        self._check_schedule(now)

    def feed(self, readings: list[Reading]) -> None:
        """Judge committed readings; every changed episode is written before this returns."""
        with self.lock:
            self._feed(readings)

    def _feed(self, readings: list[Reading]) -> None:
        changed = self.engine.feed_many(readings)
        self._nibp_checks += [r.time for r in readings if _is_check(r)]
        if changed:
            self.writer.write_episodes(self.chair, self.session_id, changed)

    @property
    def session_id(self) -> int | None:
        return self.session.id if self.session else None

    def _rebuild(self, session: Session | None, now: datetime) -> None:
        why = "alert rules reloaded"
        if session is None:
            why = "session ended" if self.session else "recorder restarted"
        self.writer.close_engine_episodes(self.chair, to_us(now), why)
        self.session = session
        start = self._replay_start(session, now)
        history = queries.stored_readings(self._conn, self.chair, start)
        self.engine = self._engine(session)
        self._nibp_checks = [r.time for r in history if _is_check(r)]
        self._overdue_written.clear()
        changed = self.engine.feed_many(history)
        if changed:
            self.writer.write_episodes(self.chair, self.session_id, changed)

    def _replay_start(self, session: Session | None, now: datetime) -> datetime:
        if session is not None:
            return max(session.started, session.rules_changed)
        ended = queries.last_session_end(self._conn, self.chair)
        start = now - NO_SESSION_REPLAY
        return max(start, ended) if ended else start

    def _engine(self, session: Session | None) -> AlertEngine:
        if session is None:
            return AlertEngine(load_protocol(NO_SESSION).rules)
        found = session_baselines(self._conn, session)
        baselines = {p: b.value for p, b in found.items() if b.value is not None}
        return AlertEngine(session.rules, baselines, session.dose_time)

    def _check_schedule(self, now: datetime) -> None:
        session = self.session
        if session is None or session.dose_time is None:
            return
        schedule = load_protocol(session.protocol).schedule
        if schedule is None:
            return
        changed = []
        for overdue in overdue_checks(schedule, session.dose_time, self._nibp_checks, now):
            if self._overdue_written.get(overdue.started, "new") == overdue.ended:
                continue
            self._overdue_written[overdue.started] = overdue.ended
            changed.append(_overdue_episode(overdue, schedule.grace_min, schedule.overdue_level))
        if changed:
            self.writer.write_episodes(self.chair, session.id, changed)


def _is_check(reading: Reading) -> bool:
    return (
        reading.param is Param.SBP and reading.quality is Quality.OK and reading.value is not None
    )


def _overdue_episode(overdue, grace_min: float, level: Level) -> Episode:
    return Episode(
        rule="nibp-overdue",
        kind=TECHNICAL,
        level=level,
        started=overdue.started,
        param=Param.SBP,
        ended=overdue.ended,
        reason=f"BP check due at {overdue.due:%H:%M:%S} UTC not taken within {grace_min:g} min",
    )


def link_episode(rule: str, started: datetime, reason: str) -> Episode:
    """A technical episode for the link to the monitor (disconnected, no data)."""
    return Episode(rule=rule, kind=TECHNICAL, level=Level.WARNING, started=started, reason=reason)


def ended(episode: Episode, at: datetime) -> Episode:
    return replace(episode, ended=at)
