"""Alarm forwarding: the escalation ladder, run by the recorder whether or not a browser is open.

Every second the notifier reads what still needs a person (open, unacknowledged episodes and
latched criticals) through a read-only connection, asks the pure ladder
(``vitals.escalation``) what is due, and hands each send to a pool so a slow channel never
delays another. Every send, delivered or failed with its reason, is appended to the audit
through the recorder's single writer; a failed one is retried until it arrives or the alarm
is acknowledged. It also watches the stations: while a patient is in a chair and no overview
has said it is open for ``station_fresh_s``, it raises "no station is watching", a technical
alarm escalated like any other.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from chairside.channels import Channels
from vitals.engine import TECHNICAL, Episode
from vitals.errors import ChairsideError
from vitals.escalation import Alarm, Send, due_sends, rung, track_rungs
from vitals.notify_config import NotifyConfig
from vitals.reading import utc_now
from vitals.rules import Level
from vitals.store import StoreWriter, connect_readonly
from vitals.store.notifications import (
    Notification,
    PendingAlarm,
    any_open_session,
    attempts,
    last_station_seen,
    open_technical_episode,
    pending_alarms,
)
from vitals.times import to_us

POLL_S = 1.0
STATION_FRESH_S = 30.0  # an overview says it is open every 10 s; three missed beats → nobody
STATE_EVERY_S = 5.0
SENDERS_PER_CHANNEL, SENDERS_MAX = 4, 16
NO_STATION = "no-station-watching"
log = logging.getLogger("chairside.notifier")


class Notifier(threading.Thread):
    """The ladder's thread; a fault in one cycle is logged, shown, and the next cycle runs."""

    def __init__(
        self,
        config: NotifyConfig,
        channels: Channels,
        writer: StoreWriter,
        stop_event: threading.Event,
        poll_s: float = POLL_S,
        station_fresh_s: float = STATION_FRESH_S,
    ) -> None:
        super().__init__(name="notifier", daemon=True)
        self.config = config
        self.channels = channels
        self.writer = writer
        self.stop_event = stop_event
        self.poll_s = poll_s
        self.station_fresh_s = station_fresh_s
        self.faults = 0
        self._fault = ""
        self._clock: dict[int, tuple[str, datetime]] = {}
        self._in_flight: set[tuple[int, str, str]] = set()
        self._lock = threading.Lock()
        self._results = {
            name: {"target": self.channels.target(name)} for name in self.channels.names
        }
        self._no_station: Episode | None = None
        self._run_since = utc_now()
        self._state_at = 0.0
        self._changed = True
        for problem in config.problems():
            log.warning("%s", problem)

    def run(self) -> None:
        # several sends per channel at once: sixteen chairs turning critical together must
        # not queue behind one another's HTTP round trip
        workers = min(SENDERS_MAX, SENDERS_PER_CHANNEL * max(1, len(self.channels.names)))
        pool = ThreadPoolExecutor(workers, thread_name_prefix="notify")
        conn: sqlite3.Connection | None = None
        try:
            while not self.stop_event.is_set():
                try:
                    conn = conn or connect_readonly(self.writer.path)
                    self.cycle(conn, pool, utc_now())
                    self._fault = ""
                except Exception as exc:  # survive and shout: a fault must not end forwarding
                    self._failed(exc)
                self._publish()
                self.stop_event.wait(self.poll_s)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if conn is not None:
                conn.close()
            self._publish(stopped=True)

    def cycle(self, conn: sqlite3.Connection, pool: ThreadPoolExecutor, now: datetime) -> None:
        """One look at the store: stations, then every alarm that still needs a person."""
        self._watch_stations(conn, now)
        alarms = pending_alarms(conn)
        seen = [(a.episode, rung(a.kind, a.level), a.started) for a in alarms]
        self._clock = track_rungs(self._clock, seen, now)
        with self._lock:  # before reading the audit: a send finishing in between is in one
            busy = set(self._in_flight)
        tried = attempts(conn, [a.episode for a in alarms])
        for alarm in alarms:
            level, since = self._clock[alarm.episode]
            for send in due_sends(
                Alarm(alarm.episode, level, since),
                self.config.ladder,
                tried,
                now,
                self.config.retry_s,
            ):
                key = (send.episode, send.step, send.channel)
                if key in busy:
                    continue
                with self._lock:
                    self._in_flight.add(key)
                pool.submit(self._send, send, alarm, message(alarm, now))

    def _send(self, send: Send, alarm: PendingAlarm, text: tuple[str, str]) -> None:
        sent = utc_now()
        error = self.channels.send(send.channel, *text)
        done = utc_now()
        try:
            self.writer.write_notification(
                Notification(
                    send.episode,
                    alarm.chair,
                    send.step,
                    send.channel,
                    self.channels.target(send.channel),
                    send.attempt,
                    sent,
                    done,
                    not error,
                    error,
                    f"{text[0]}: {text[1]}",
                )
            )
        except ChairsideError as exc:  # not audited → not counted as sent: tried again
            self._failed(exc)
        finally:
            with self._lock:
                self._in_flight.discard((send.episode, send.step, send.channel))
                self._changed = True  # the station learns of a failing channel at once
                self._results[send.channel] |= {
                    "ok": not error,
                    "error": error,
                    "t_us": to_us(done),
                }
        if error:
            log.warning("channel %s failed (attempt %d): %s", send.channel, send.attempt, error)

    def _watch_stations(self, conn: sqlite3.Connection, now: datetime) -> None:
        """Raise "no station is watching" while a patient is in a chair and no overview is
        open; end it when one opens or no session is open."""
        if self._no_station is None:  # one left open by a previous run is continued
            self._no_station = open_technical_episode(conn, NO_STATION)
        seen = last_station_seen(conn)
        fresh = seen is not None and now - seen <= timedelta(seconds=self.station_fresh_s)
        patients = any_open_session(conn)
        if self._no_station is not None and (fresh or not patients):
            why = "a station is watching again" if fresh else "no patient in a chair"
            started = to_us(self._no_station.started)
            self.writer.end_chairless_episode(NO_STATION, started, to_us(now), why)
            self._no_station = None
        elif self._no_station is None and not fresh and patients:
            if now - self._run_since < timedelta(seconds=self.station_fresh_s):
                return  # give the stations time to say they are open after a restart
            since = f"since {clock_time(seen)}" if seen else "since the recorder started"
            self._no_station = Episode(
                NO_STATION,
                TECHNICAL,
                Level.WARNING,
                now,
                reason=f"No station is watching: no Chairside overview open {since}",
            )
            self.writer.write_episodes(None, None, [self._no_station])

    def _failed(self, exc: Exception) -> None:
        self.faults += 1
        self._fault = f"alarm forwarding fault ({self.faults} so far): {exc}"
        log.error("%s", self._fault)

    def _publish(self, stopped: bool = False) -> None:
        now = utc_now()
        due = now.timestamp() - self._state_at >= STATE_EVERY_S
        if not (stopped or due or self._changed or self._fault):
            return
        self._state_at, self._changed = now.timestamp(), False
        problem = "; ".join(
            [*self.config.problems(), self._fault] if self._fault else self.config.problems()
        )
        with self._lock:
            channels = {name: dict(result) for name, result in self._results.items()}
        try:
            self.writer.write_notifier_state(
                to_us(self._run_since), to_us(now), problem, channels, stopped=stopped
            )
        except ChairsideError as exc:
            log.error("cannot record the notifier's state: %s", exc)


def clock_time(moment: datetime) -> str:
    """The clinic's wall-clock time (this machine's time zone), as a nurse reads it."""
    return moment.astimezone().strftime("%H:%M:%S")


def message(alarm: PendingAlarm, now: datetime) -> tuple[str, str]:
    """Title and body in a nurse's words: what, where, since when, and what to do."""
    label = "TECHNICAL" if alarm.kind == TECHNICAL else alarm.level.upper()
    where = alarm.chair_name or "Chairside"
    waited = int((now - alarm.started).total_seconds())
    recovered = f"; values back since {clock_time(alarm.ended)}" if alarm.ended else ""
    body = (
        f"{alarm.reason}. Since {clock_time(alarm.started)}, not acknowledged for "
        f"{waited // 60} min {waited % 60} s{recovered}. Acknowledge on the Chairside station."
    )
    return f"Chairside {label}: {where}", body
