"""The recorder process: one worker per device, one store writer, a heartbeat, a clean stop.

It runs on its own, whether or not any browser is open: the dashboard only reads what the
recorder has committed, and learns from the heartbeat whether the recorder is alive.

The recorder is the supervisor of everything it runs. Every second it beats, and watches:
  * its own heartbeat: a gap (the process was frozen, e.g. stopped by SIGSTOP) is recorded
    as recorder downtime on every chair; so is the gap before a start, whatever its length;
  * the store: a database that refuses writes is a technical alert on every chair, while the
    writer keeps the readings (spool) and commits them in order once it accepts again;
  * its workers: a worker thread that ended without being told to is started again;
  * the lock file beside the database, where it publishes who it is and how the store is,
    so the dashboard can say why values are not live even when the database cannot.
Only one recorder may write a database or read a port (``ownership.py``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from chairside.alerts import ChairAlerts, OpenSessions
from chairside.channels import Channels
from chairside.notifier import Notifier
from chairside.ownership import Ownership
from chairside.processes import on_stop_request
from chairside.relay import CentralRelay, RelayTarget
from chairside.sdnotify import Notifier as SystemdNotifier
from chairside.worker import ChairWorker
from devices.registry import adapter_class
from vitals.chairs import Chair
from vitals.engine import TECHNICAL, Episode
from vitals.errors import ChairsideError
from vitals.notify_config import NotifyConfig
from vitals.reading import utc_now
from vitals.rules import Level
from vitals.store import StoreWriter
from vitals.store.spool import default_spool_dir
from vitals.times import from_us, to_us

HEARTBEAT_S = 1.0
FREEZE_S = 5.0  # a heartbeat gap longer than this while running is recorded as downtime
STORE_ALARM_S = 3.0  # a store refusing writes this long is a technical alert on every chair
# How long a commit waits for another process's lock before it counts as refused: human
# actions hold it for milliseconds, and a worker waiting on the store is not reading its
# port (a serial line's buffer holds a few seconds at most).
STORE_BUSY_S = 0.5
SESSIONS_READ_S = 0.5  # the chairs' open sessions, read once for all: see OpenSessions
STALLED_S = 30.0  # a worker showing no sign of life this long is logged as stalled
log = logging.getLogger("chairside.recorder")


class Recorder:
    def __init__(
        self,
        chairs: Sequence[Chair],
        db: Path,
        spool_dir: Path | None = None,
        stop_event: threading.Event | None = None,
        notify: NotifyConfig | None = None,
        relay: RelayTarget | None = None,
    ) -> None:
        for chair in chairs:  # fail on a bad config before touching any port
            for device in chair.devices:
                adapter_class(device.protocol)(dict(device.options))
        channels = Channels(notify) if notify else None  # a bad channel URL fails here too
        self.chairs = list(chairs)
        self.stop_event = stop_event or threading.Event()
        self.ownership = Ownership(db, self.chairs)
        self.ownership.take(time.time())
        try:
            spool = spool_dir or default_spool_dir(db)
            self.writer = StoreWriter(db, spool, busy_s=STORE_BUSY_S)
            self.writer.write_chairs(self.chairs)
            sessions = OpenSessions(max_age_s=SESSIONS_READ_S)
            self.alerts = {c.id: ChairAlerts(c.id, self.writer, sessions) for c in self.chairs}
            self.workers = [
                ChairWorker(chair, self.writer, self.stop_event, self.alerts[chair.id], device)
                for chair in self.chairs
                for device in chair.devices
            ]
            # alarm forwarding runs beside acquisition, never inside a worker
            self.notifier = (
                Notifier(notify, channels, self.writer, self.stop_event)
                if notify and channels
                else None
            )
            # copying to the central store runs beside acquisition, never inside a worker
            self.relay = CentralRelay(self.writer, relay, self.stop_event) if relay else None
            if self.relay:
                self.relay.enable()
        except BaseException:
            if hasattr(self, "writer"):
                self.writer.close()
            self.ownership.release()
            raise
        self.failures = 0  # unexpected errors the heartbeat loop survived
        self._store_episode: Episode | None = None
        self._stalled: set[int] = set()

    @property
    def _chair_ids(self) -> list[str]:
        return [c.id for c in self.chairs]

    def run(self, install_signals: bool = True) -> None:
        """Acquire until SIGINT/SIGTERM (or ``stop()``), then close ports and the store."""
        if install_signals:
            on_stop_request(lambda *_: self.stop_event.set())
        self._systemd = SystemdNotifier()
        started = utc_now()
        self._started_us = to_us(started)
        self._record_restart(started)
        self._last_beat, self._last_beat_at = time.monotonic(), started
        with contextlib.suppress(ChairsideError):
            self.writer.beat(self._started_us, self._started_us, wait=False)
        for worker in self.workers:
            worker.start()
        if self.notifier:
            self.notifier.start()
        if self.relay:
            self.relay.start()
        log.info("recording %d devices into %s", len(self.workers), self.writer.path)
        self._systemd.ready(f"recording {len(self.chairs)} chairs")
        while not self.stop_event.wait(HEARTBEAT_S):
            self._supervise()
        self._stop_cleanly()

    def stop(self) -> None:
        self.stop_event.set()

    def _stop_cleanly(self) -> None:
        self._systemd.stopping()
        for worker in self.workers:
            worker.join(timeout=5)
        if self.notifier:
            self.notifier.join(timeout=20)
        if self.relay:
            self.relay.join(timeout=20)
        for alerts in self.alerts.values():
            alerts.close()
        now = to_us(utc_now())
        with contextlib.suppress(ChairsideError):
            self.writer.beat(self._started_us, now, stopped=True)
        waiting = self.writer.readings_waiting
        self.writer.close()
        self.ownership.release({"beat": time.time(), "stopped": time.time(), "store": None})
        if waiting:
            log.warning("stopped; %d readings wait in the spool for the next start", waiting)
        else:
            log.info("recorder stopped cleanly")
        self._systemd.close()

    # -- every second --------------------------------------------------------------------

    def _supervise(self) -> None:
        """The heartbeat and the watches; an error here is logged and survived."""
        try:
            now = utc_now()
            gap = time.monotonic() - self._last_beat
            if gap > FREEZE_S:
                self._record_freeze(self._last_beat_at, now, gap)
            self._last_beat, self._last_beat_at = time.monotonic(), now
            with contextlib.suppress(ChairsideError):
                self.writer.beat(self._started_us, to_us(now), wait=False)
            # the loop is alive: a store refusing writes is survived (spool), never restarted
            self._systemd.alive()
            self._watch_store(now)
            self._watch_workers()
            self._report_incidents(now)
            self.ownership.publish(self._status())
        except Exception:
            self.failures += 1
            log.exception("recorder supervision failed (%d so far); it goes on", self.failures)

    def _watch_store(self, now: datetime) -> None:
        """A refusing store is a technical alert on every chair, from when it began to refuse
        until everything kept is committed; it reaches the store as soon as that accepts."""
        fault, shown = self.writer.fault, self._store_episode
        if fault is not None:
            lasted = (now - fault.since).total_seconds()
            if shown is None and not (fault.permanent or lasted >= STORE_ALARM_S):
                return
            reason = _store_reason(fault)
            if shown is None or shown.reason != reason:
                started = shown.started if shown else fault.since
                self._store_episode = Episode(
                    "store-refused", TECHNICAL, Level.WARNING, started, reason=reason
                )
                self.writer.write_chair_episodes(self._chair_ids, self._store_episode)
        elif shown is not None:
            self._store_episode = None
            self.writer.write_chair_episodes(self._chair_ids, replace(shown, ended=now))

    def _watch_workers(self) -> None:
        for worker in self.workers:
            if not worker.alive and not self.stop_event.is_set():
                log.error("chair %s: worker thread ended unexpectedly; started again", worker.who)
                worker.restart()
            stalled = time.monotonic() - worker.progress > STALLED_S
            if stalled and id(worker) not in self._stalled:
                log.error("chair %s: worker silent for over %.0f s", worker.who, STALLED_S)
            (self._stalled.add if stalled else self._stalled.discard)(id(worker))
        if self.relay and not self.relay.alive and not self.stop_event.is_set():
            log.error("the central relay thread ended unexpectedly; started again")
            self.relay.restart()

    def _report_incidents(self, now: datetime) -> None:
        """What the writer met and survived (a database file deleted and written back)."""
        while self.writer.incidents:
            when, message = self.writer.incidents.pop(0)
            episode = Episode("store-file", TECHNICAL, Level.WARNING, when, ended=now)
            self.writer.write_chair_episodes(self._chair_ids, replace(episode, reason=message))

    def _status(self) -> dict[str, Any]:
        fault = self.writer.fault
        store = None
        if fault is not None:
            store = {
                "since": fault.since.timestamp(),
                "reason": fault.reason,
                "waiting": self.writer.readings_waiting,
                "memory_only": fault.memory_only,
                "lost": fault.lost,
            }
        return {"beat": time.time(), "stopped": None, "store": store}

    # -- downtime ------------------------------------------------------------------------

    def _record_restart(self, now: datetime) -> None:
        """The gap since the previous recorder's last heartbeat, however short, is downtime;
        what it left open ends at that heartbeat, as stated (replays continue what holds)."""
        previous = self.writer.previous_heartbeat()
        if previous is None:
            return
        beat_us, stopped_us = previous
        last = from_us(beat_us)
        how = "stopped cleanly" if stopped_us else "ended without a clean stop (crash or kill)"
        self._record_downtime(last, now, f"the recorder {how}")
        why = "recorder stopped; ended at its last heartbeat"
        for chair in self._chair_ids:
            self.writer.close_link_episodes(chair, beat_us, why)
            self.writer.close_engine_episodes(chair, beat_us, why)

    def _record_freeze(self, last: datetime, now: datetime, gap: float) -> None:
        log.error("recorder was frozen for %.1f s (no heartbeat); recorded as downtime", gap)
        how = "the recorder was frozen (not scheduled); what the ports buffered was read after"
        self._record_downtime(last, now, how)

    def _record_downtime(self, start: datetime, end: datetime, how: str) -> None:
        if end <= start:
            return
        span = _span(end - start)
        reason = (
            f"recorder not running for {span}: {how}; no reading is timed in that span (what a"
            " port or a gateway kept meanwhile is stored with the time it arrived)"
        )
        episode = Episode(
            "recorder-downtime", TECHNICAL, Level.WARNING, start, ended=end, reason=reason
        )
        self.writer.write_chair_episodes(self._chair_ids, episode)


def _store_reason(fault) -> str:
    kept = "in memory only (the spool refuses too)" if fault.memory_only else "in the spool"
    lost = f"; {fault.lost} readings LOST beyond the memory bound" if fault.lost else ""
    return (
        f"the database refuses writes ({fault.reason}): readings are kept {kept} and written "
        f"in order once it accepts{lost}"
    )


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
