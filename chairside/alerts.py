"""Live alerting for one chair: the core's pure engine, fed as readings are committed.

Which rules apply comes from the store (an open session's protocol and overrides, or the
monitor limits when no session is open), so the command line and the dashboard can change
them while the recorder runs. On every change of rules, protocol, baseline, dose time or
session, and at start, the engine is rebuilt from the session's own readings (the same code
as review) and every alarm still open is re-judged: one that still holds under the new rules
continues without a gap, one that no longer holds ends and says why. No change of settings
ever silently ends an alarm.

A rebuild reads the store while the chair's workers go on reading their ports and storing:
at the recorder's start it runs on a thread of its own (``build_in_background``), so the
ports open and readings are committed while the open sessions are replayed. What is
committed meanwhile waits, in order, and is judged once the new engine stands: the readings
the replay already read are recognised and not judged twice, the others are fed as live.
No reading is ever judged by an engine not yet built, or twice, or not at all.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from vitals.clinical import NO_SESSION, load_protocol
from vitals.engine import TECHNICAL, AlertEngine, Episode
from vitals.errors import ChairsideError
from vitals.reading import Param, Quality, Reading
from vitals.rules import Level
from vitals.schedule import Overdue, overdue_checks
from vitals.sessions import Session
from vitals.store import StoreWriter, connect_readonly, queries
from vitals.verdict import engine_inputs

REFRESH_S = 1.0
NO_SESSION_REPLAY = timedelta(hours=2)
OVERDUE = "nibp-overdue"
UNBUILT = ("unbuilt",)
RESTARTED, DOSED = "the recorder restarted", "the dose was logged"
# Causes that leave the rules as they were: an alarm the replay ended, it ended when and as
# the replay says (a pre-dose alert at the dose, naming who dosed).
SAME_RULES = (RESTARTED, DOSED)
log = logging.getLogger("chairside.alerts")


class OpenSessions:
    """What every chair's alerting is built from (``queries.session_signature`` of its open
    session), read for all chairs at once and shared for up to ``max_age_s``.

    Each chair checks once a second whether its session, protocol, rules, dose or baselines
    changed. Asked chair by chair, that is a read transaction a chair a second, a quarter of
    the recorder's CPU at 32 chairs; the recorder's chairs share one read every half second
    instead, so a change is picked up within a second and a half. Alone (``max_age_s`` 0) a
    chair reads the store at every check."""

    def __init__(self, max_age_s: float = 0.0) -> None:
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._read_at = -float("inf")
        self._signatures: dict[str, tuple] = {}

    def signature(self, conn: sqlite3.Connection, chair: str) -> tuple | None:
        """The chair's signature, read through ``conn`` when the last read is too old."""
        with self._lock:
            if time.monotonic() - self._read_at >= self.max_age_s:
                self._signatures = queries.open_session_signatures(conn)
                self._read_at = time.monotonic()
            return self._signatures.get(chair)


class ChairAlerts:
    """One chair's alerting, shared by the workers of its devices under one lock."""

    def __init__(
        self, chair: str, writer: StoreWriter, open_sessions: OpenSessions | None = None
    ) -> None:
        self.chair, self.writer = chair, writer
        self.open_sessions = open_sessions or OpenSessions()
        self.lock = threading.RLock()  # the engine and what waits for it: held briefly
        self._refreshing = threading.Lock()  # one refresh (or rebuild) of the chair at a time
        # Committed readings waiting for a rebuild to finish (None: fed to the engine at once).
        # Waiting from the start: no reading is judged by an engine not yet built.
        self._waiting: list[Reading] | None = []
        self._build_failed: Exception | None = None
        self._reader: sqlite3.Connection | None = None
        self._reader_generation = writer.generation
        self._stale: list[sqlite3.Connection] = []
        self.session: Session | None = None
        self.engine = AlertEngine(load_protocol(NO_SESSION).rules)
        self._signature: tuple | None = UNBUILT
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
        building = self._refreshing.acquire(timeout=5)  # a build under way finishes first
        try:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        finally:
            if building:
                self._refreshing.release()

    def invalidate(self) -> None:
        """After a failed evaluation: rebuild from the stored readings at the next refresh."""
        with self.lock:
            self._signature = ("invalidated",)

    def build_in_background(self, now: datetime) -> None:
        """The first build (the replay of the chair's open session), on a thread of its own:
        the workers open their ports and store meanwhile. Returns at once."""
        if not self._refreshing.acquire(blocking=False):
            return
        if self._signature != UNBUILT:
            self._refreshing.release()
            return
        name = f"alerts-{self.chair}"
        threading.Thread(target=self._build, args=(now,), name=name, daemon=True).start()

    def _build(self, now: datetime) -> None:
        try:
            self._refresh(now)
        except Exception as exc:  # told by the next refresh, on a worker, as alerting failed
            log.error("chair %s: building the alerting failed", self.chair, exc_info=exc)
            self._build_failed = exc
            self.invalidate()
        finally:
            self._refreshing.release()

    def refresh(self, now: datetime) -> None:
        """Pick up session and rule changes; pass the dose; raise or end overdue BP checks.
        Skipped while the chair is being built or refreshed by another of its workers."""
        if not self._refreshing.acquire(blocking=False):
            return
        try:
            failed, self._build_failed = self._build_failed, None
            if failed is not None:
                raise ChairsideError(f"building the chair's alerting failed: {failed}") from failed
            self._refresh(now)
        finally:
            self._refreshing.release()

    def _refresh(self, now: datetime) -> None:
        # the short signature first: the session and its rules are read only when it changed
        if self.open_sessions.signature(self._conn, self.chair) != self._signature:
            session = queries.active_session(self._conn, self.chair)
            signature = queries.session_signature(session)
            if signature != self._signature:
                self._rebuild(session, now, _cause(self._signature, signature))
                self._signature = signature
        with self.lock:
            self._write(self.engine.tick(now))
            self._check_schedule(now)

    def feed(self, readings: list[Reading]) -> None:
        """Judge committed readings; every changed episode is written before this returns
        (during a rebuild they wait, and are judged by the new engine when it stands)."""
        with self.lock:
            if self._waiting is not None:
                self._waiting += readings
                return
            self._judge(readings)

    def _judge(self, readings: list[Reading]) -> None:
        self._write(self.engine.feed_many(readings))
        self._nibp_checks += [r.time for r in readings if _is_check(r)]

    @property
    def session_id(self) -> int | None:
        return self.session.id if self.session else None

    def _write(self, episodes: list[Episode]) -> None:
        if episodes:
            self.writer.write_episodes(self.chair, self.session_id, episodes)

    def _rebuild(self, session: Session | None, now: datetime, cause: str) -> None:
        """A new engine over the session's readings; open alarms continued or ended, with why;
        then what was committed during the rebuild and not replayed, as live."""
        with self.lock:
            # from now on committed readings wait; those before are in the store, replayed
            self._waiting = []
        # the replay, without the lock: the chair's workers store meanwhile
        history = queries.stored_readings(self._conn, self.chair, self._replay_start(session, now))
        inputs = engine_inputs(self._conn, session, self.chair)
        rules = session.rules if session else load_protocol(NO_SESSION).rules
        engine = AlertEngine(rules, inputs.baselines, inputs.dose, inputs.heart_rate)
        replayed = {e.key: e for e in engine.feed_many(history) + engine.tick(now)}
        stored_open = queries.open_engine_episodes(self._conn, self.chair)
        with self.lock:
            self.session, self.engine = session, engine
            self._nibp_checks = [r.time for r in history if _is_check(r)]
            self._overdue_written.clear()
            self._reconcile(stored_open, replayed, now, cause)
            waiting, self._waiting = self._waiting, None
            self._judge(_not_replayed(waiting, history))

    def _reconcile(
        self,
        stored_open: list[tuple[int | None, Episode]],
        replayed: dict[tuple, Episode],
        now: datetime,
        cause: str,
    ) -> None:
        """Every stored open alarm continued by the new engine, or ended saying why."""
        overdue = {o.started: o for o in self._overdue(now)}
        written: list[Episode] = []
        for stored_session, stored in stored_open:
            continued = None
            if stored_session == self.session_id:
                continued = (
                    self._continued_overdue(stored, overdue)
                    if stored.rule == OVERDUE
                    else self.engine.adopt(stored)
                )
            ended_in_replay = replayed.get(stored.key) if cause in SAME_RULES else None
            written.append(
                continued
                or ended_in_replay
                or _ended(stored, now, cause, stored_session, self.session)
            )
        kept = {e.key for e in written}
        written += [e for e in self.engine.open_episodes() if e.key not in kept]
        self._write(written)

    def _continued_overdue(self, stored: Episode, overdue: dict) -> Episode | None:
        found = overdue.get(stored.started)
        return None if found is None or found.ended is not None else stored

    def _replay_start(self, session: Session | None, now: datetime) -> datetime:
        """A session's alarms are judged on its own readings, from its start."""
        if session is not None:
            return session.started
        ended = queries.last_session_end(self._conn, self.chair)
        start = now - NO_SESSION_REPLAY
        return max(start, ended) if ended else start

    def _overdue(self, now: datetime) -> list[Overdue]:
        session = self.session
        if session is None or session.dose_time is None:
            return []
        schedule = load_protocol(session.protocol).schedule
        if schedule is None:
            return []
        return overdue_checks(schedule, session.dose_time, self._nibp_checks, now)

    def _check_schedule(self, now: datetime) -> None:
        changed = []
        for overdue in self._overdue(now):
            if self._overdue_written.get(overdue.started, "new") == overdue.ended:
                continue
            self._overdue_written[overdue.started] = overdue.ended
            changed.append(_overdue_episode(overdue, self.session))
        self._write(changed)


def _not_replayed(waiting: list[Reading], history: list[Reading]) -> list[Reading]:
    """The waiting readings the replay did not read, in the order they were committed. A
    reading is recognised in the replayed history by everything stored of it (a repeat at the
    same moment is another reading, counted apart)."""
    if not waiting:
        return []
    first = min(r.time for r in waiting)
    replayed = Counter(_identity(r) for r in history if r.time >= first)
    fresh = []
    for reading in waiting:
        if replayed[_identity(reading)]:
            replayed[_identity(reading)] -= 1
        else:
            fresh.append(reading)
    return fresh


def _identity(r: Reading) -> tuple:
    return (r.param, r.time, r.value, r.quality, r.source, r.device_time)


def _cause(before: tuple | None, after: tuple | None) -> str:
    """Why the engine was rebuilt, in a nurse's words, for the episodes it ends (the tuples
    are ``queries.session_signature``)."""
    if before == UNBUILT:
        return RESTARTED
    if after is None:
        return "the session ended"
    if before is None or before[0] != after[0]:
        return "a session started"
    if before[1] != after[1]:
        return "the protocol changed"
    if before[3] != after[3]:
        return DOSED
    if before[4] != after[4]:
        return "a baseline was entered"
    return "the alert thresholds changed"


def _ended(
    stored: Episode, now: datetime, cause: str, stored_session: int | None, session: Session | None
) -> Episode:
    """A stored alarm the rebuilt engine does not hold: it ends now and says why."""
    same = session is not None and stored_session == session.id
    why = f"no longer holds after {cause}" if same else cause
    return replace(stored, ended=max(now, stored.started), reason=f"{stored.reason} (ended: {why})")


def _is_check(reading: Reading) -> bool:
    return (
        reading.param is Param.SBP and reading.quality is Quality.OK and reading.value is not None
    )


def _overdue_episode(overdue: Overdue, session: Session) -> Episode:
    schedule = load_protocol(session.protocol).schedule
    minutes = (overdue.due - session.dose_time).total_seconds() / 60
    reason = (
        f"BP check due {minutes:g} min after the dose not taken within {schedule.grace_min:g} min"
    )
    if overdue.missed > 1:
        reason += f"; {overdue.missed} checks missed in a row"
    return Episode(
        rule=OVERDUE,
        kind=TECHNICAL,
        level=schedule.overdue_level,
        started=overdue.started,
        param=Param.SBP,
        ended=overdue.ended,
        reason=reason,
    )


def link_episode(rule: str, started: datetime, reason: str) -> Episode:
    """A technical episode for the link to the monitor (disconnected, no data)."""
    return Episode(rule=rule, kind=TECHNICAL, level=Level.WARNING, started=started, reason=reason)


def ended(episode: Episode, at: datetime) -> Episode:
    return replace(episode, ended=at)
