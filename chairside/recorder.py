"""The recorder process: one worker per chair, one store writer, a heartbeat, a clean stop.

It runs on its own, whether or not any browser is open: the dashboard only reads what the
recorder has committed, and learns from the heartbeat whether the recorder is alive.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from chairside.alerts import ChairAlerts
from chairside.channels import Channels
from chairside.notifier import Notifier
from chairside.processes import on_stop_request
from chairside.sdnotify import Notifier as SystemdNotifier
from chairside.worker import ChairWorker
from devices.registry import adapter_class
from vitals.chairs import Chair
from vitals.engine import TECHNICAL, Episode
from vitals.notify_config import NotifyConfig
from vitals.reading import utc_now
from vitals.rules import Level
from vitals.store import StoreWriter
from vitals.times import from_us, to_us

HEARTBEAT_S = 1.0
DOWNTIME_S = 5.0  # a heartbeat gap longer than this is recorded as recorder downtime
log = logging.getLogger("chairside.recorder")


class Recorder:
    def __init__(
        self, chairs: Sequence[Chair], db: Path, notify: NotifyConfig | None = None
    ) -> None:
        for chair in chairs:  # fail on a bad config before touching any port
            for device in chair.devices:
                adapter_class(device.protocol)(dict(device.options))
        channels = Channels(notify) if notify else None  # a bad channel URL fails here too
        self.chairs = list(chairs)
        self.stop_event = threading.Event()
        self.writer = StoreWriter(db)
        self.writer.write_chairs(self.chairs)
        self.alerts = {c.id: ChairAlerts(c.id, self.writer) for c in self.chairs}
        # alarm forwarding runs beside acquisition, never inside a worker
        self.notifier = (
            Notifier(notify, channels, self.writer, self.stop_event)
            if notify and channels
            else None
        )
        self.workers = [
            ChairWorker(chair, self.writer, self.stop_event, self.alerts[chair.id], device)
            for chair in self.chairs
            for device in chair.devices
        ]

    def run(self, install_signals: bool = True) -> None:
        """Acquire until SIGINT/SIGTERM (or ``stop()``), then close ports and the store."""
        if install_signals:
            on_stop_request(lambda *_: self.stop_event.set())
        systemd = SystemdNotifier()
        started = to_us(utc_now())
        self._record_downtime(started)
        for chair in self.chairs:  # link episodes of a previous run cannot be continued
            self.writer.close_link_episodes(chair.id, started, "recorder restarted")
        self.writer.beat(started, started)
        for worker in self.workers:
            worker.start()
        if self.notifier:
            self.notifier.start()
        log.info("recording %d chairs into %s", len(self.workers), self.writer.path)
        systemd.ready(f"recording {len(self.chairs)} chairs")
        while not self.stop_event.wait(HEARTBEAT_S):
            self.writer.beat(started, to_us(utc_now()))
            systemd.alive()  # only after the store took the beat: a wedged store stops it
        systemd.stopping()
        for worker in self.workers:
            worker.join(timeout=5)
        if self.notifier:
            self.notifier.join(timeout=20)
        for alerts in self.alerts.values():
            alerts.close()
        self.writer.beat(started, to_us(utc_now()), stopped=True)
        self.writer.close()
        log.info("recorder stopped cleanly")
        systemd.close()

    def _record_downtime(self, now_us: int) -> None:
        """A gap since the last recorder's heartbeat is a technical episode of its own."""
        previous = self.writer.previous_heartbeat()
        if previous is None or now_us - previous[0] < DOWNTIME_S * 1_000_000:
            return
        beat, stopped = previous
        how = "stopped cleanly" if stopped else "ended without a clean stop (crash or kill)"
        minutes = (now_us - beat) / 60_000_000
        reason = f"recorder not running for {minutes:.1f} min: it {how}; no data was acquired"
        episode = Episode(
            "recorder-stopped",
            TECHNICAL,
            Level.WARNING,
            from_us(beat),
            None,
            from_us(now_us),
            reason=reason,
        )
        self.writer.write_episodes(None, None, [episode])

    def stop(self) -> None:
        self.stop_event.set()
