"""One worker per chair: keep the monitor's port open, decode, stamp, store, report the link.

The worker never gives up: a missing port, a pulled cable or a silent monitor become device
states with reasons and counters, and the worker reconnects with back-off until stopped.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import serial

from chairside.alerts import REFRESH_S, ChairAlerts, ended, link_episode
from devices.base import DeviceAdapter
from devices.ports import open_port
from devices.registry import new_adapter
from vitals.chairs import Chair, Device
from vitals.device_state import DeviceState, LinkState
from vitals.errors import ChairsideError, PortUnavailable
from vitals.logs import with_chair
from vitals.plausibility import assess
from vitals.reading import Reading, utc_now
from vitals.store import StoreWriter
from vitals.times import to_us

log = logging.getLogger("chairside.worker")

BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
STATE_EVERY_S = 2.0  # counters are rewritten at most this often; state changes at once
MAX_UNWRITTEN = 100_000  # readings kept while the store refuses writes (~1 day of a chair)


class ChairWorker:
    """Acquires from one device of one chair; the chair's devices share its ``alerts``."""

    def __init__(
        self,
        chair: Chair,
        writer: StoreWriter,
        stop: threading.Event,
        alerts: ChairAlerts | None = None,
        device: Device | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.chair, self.writer, self._stop, self.clock = chair, writer, stop, clock
        self.device = device or chair.devices[0]
        # a chair's only monitor keeps the key ""; several devices are told apart by name
        self.key = self.device.label if len(chair.devices) > 1 else ""
        self.adapter: DeviceAdapter = new_adapter(self.device.protocol, self.device.options)
        self.adapter.prime(writer.latest_nibp(chair.id))
        self.state = DeviceState(chair.id, LinkState.CONNECTING, clock(), device=self.key)
        self.readings_stored = 0
        self._state_written_at = 0.0
        self._frame_error = ""
        self._problem_shown = ""
        self.alerts = alerts or ChairAlerts(chair.id, writer)
        self._alerts_at = 0.0
        self._link_episode = None
        self._unwritten: list[Reading] = []
        name = f"chair-{chair.id}-{self.device.label}"
        run = with_chair(chair.id, self.run)  # the chair on every line its thread logs
        self._thread = threading.Thread(target=run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def run(self) -> None:
        backoff = BACKOFF_FIRST_S
        self._publish(force=True)
        self._tick()
        while not self._stop.is_set():
            try:
                port = open_port(self.device.port, self.adapter.serial, counts=self.adapter.counts)
            except PortUnavailable as exc:
                self._set(LinkState.DISCONNECTED, str(exc))
                self._wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_FIRST_S
            try:
                self._serve(port)
            finally:
                port.close()
            if not self._stop.is_set():
                self.state = replace(self.state, reconnects=self.state.reconnects + 1)
        self._set(LinkState.STOPPED, "recorder stopped")

    def _wait(self, seconds: float) -> None:
        """Sleep between reconnection attempts, still judging the schedule every second."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            self._stop.wait(min(REFRESH_S, max(0.0, deadline - time.monotonic())))
            self._tick()

    def _tick(self) -> None:
        """Refresh the chair's alert rules and schedule at most once a second."""
        if time.monotonic() - self._alerts_at < REFRESH_S:
            return
        self._alerts_at = time.monotonic()
        try:
            self.alerts.refresh(self.clock())
        except (ChairsideError, sqlite3.Error) as exc:
            self._alerts_failed(exc)

    def _serve(self, port: serial.SerialBase) -> None:
        """Read until the port fails, stays silent too long, or the recorder stops."""
        self._set(LinkState.CONNECTED, "")
        silence_limit = self.chair.no_data_after_s
        try:
            port.write(self.adapter.on_connect())
            last_data = last_nudge = time.monotonic()
            frames_ok, bytes_seen = self.adapter.counts.frames_ok, False
            while not self._stop.is_set():
                chunk = port.read(port.in_waiting or 1)
                now = time.monotonic()
                if chunk:
                    bytes_seen = True
                    self._ingest(self.adapter.feed(chunk))
                owed = self.adapter.take_output() + self.adapter.due(now)
                if owed:
                    port.write(owed)
                self._show_link_problem()
                # Data means valid frames: a device sending only garbage is not "connected".
                if self.adapter.counts.frames_ok != frames_ok:
                    frames_ok, last_data, bytes_seen = self.adapter.counts.frames_ok, now, False
                    self._set(LinkState.CONNECTED, "")
                self._tick()
                silent = now - last_data
                what = "only bad frames" if bytes_seen else "no data"
                if silent >= 2 * silence_limit:
                    self._set(LinkState.NO_DATA, f"{what} for {silent:.0f} s; reopening the port")
                    return
                if silent >= silence_limit and now - last_nudge >= silence_limit:
                    detail = f" (last: {self.adapter.counts.last_error})" if bytes_seen else ""
                    self._set(LinkState.NO_DATA, f"{what} for {silent:.0f} s{detail}")
                    port.write(self.adapter.on_silence())
                    last_nudge = now
                self._publish()
        except (serial.SerialException, OSError) as exc:
            self._set(LinkState.DISCONNECTED, f"port {self.device.port} failed: {exc}")

    def _show_link_problem(self) -> None:
        """A protocol session that is down (an association aborted, refused) is no data, with
        the protocol's reason, from the moment the adapter knows it."""
        problem = self.adapter.link_problem
        if problem != self._problem_shown:
            self._problem_shown = problem
            if problem:
                self._set(LinkState.NO_DATA, problem)

    def _ingest(self, readings: list[Reading]) -> None:
        if readings:
            now = self.clock()
            source = self.device.label
            self._unwritten += [r.stamped(self.chair.id, now, source) for r in assess(readings)]
        if self._unwritten:
            self._write_unwritten()
        self._publish()

    def _write_unwritten(self) -> None:
        """Store what was received; if the store refuses, keep it and retry with the next data.

        A full disk or a locked file must not cost readings: they wait here (bounded) and go
        in, in order, once the store accepts writes again.
        """
        batch = self._unwritten
        try:
            self.writer.write_readings(batch)
        except ChairsideError as exc:
            if len(batch) > MAX_UNWRITTEN:
                del batch[: len(batch) - MAX_UNWRITTEN]
                exc = ChairsideError(f"{exc}; oldest readings dropped beyond {MAX_UNWRITTEN}")
            self.state = replace(self.state, last_error=f"{exc} ({len(batch)} readings waiting)")
            self._publish(force=True)
            return
        self._unwritten = []
        self.readings_stored += len(batch)
        self.state = replace(self.state, last_data=batch[-1].time)
        try:
            self.alerts.feed(batch)
        except (ChairsideError, sqlite3.Error) as exc:
            self._alerts_failed(exc)

    def _set(self, state: LinkState, message: str) -> None:
        if state is not self.state.state:
            _log_link(self.device.label, state, message)
            self.state = replace(self.state, state=state, since=self.clock(), last_error=message)
            self._link_alert(state, message)
            self._publish(force=True)
        elif message and message != self.state.last_error:
            self.state = replace(self.state, last_error=message)
            self._publish(force=True)

    def _alerts_failed(self, exc: Exception) -> None:
        """Alerting must never stop acquisition; the failure is shown and logged, not hidden."""
        log.error("chair %s: alert evaluation failed: %s", self.chair.id, exc)
        self.state = replace(self.state, last_error=f"alert evaluation failed: {exc}")
        self._publish(force=True)

    def _link_alert(self, state: LinkState, message: str) -> None:
        """Disconnected and no-data are technical episodes, ended when data flows again."""
        rules = {LinkState.DISCONNECTED: "device-disconnected", LinkState.NO_DATA: "no-data"}
        now, changed = self.state.since, []
        current = self._link_episode
        if current is not None and current.rule != rules.get(state):
            changed.append(ended(current, now))
            self._link_episode = None
        if state in rules and self._link_episode is None:
            who = f"{self.chair.name} ({self.key})" if self.key else self.chair.name
            self._link_episode = link_episode(rules[state], now, f"{who}: {message}")
            changed.append(self._link_episode)
        if changed:
            with contextlib.suppress(ChairsideError):
                self.writer.write_episodes(self.chair.id, self.alerts.session_id, changed)

    def _publish(self, force: bool = False) -> None:
        counts = self.adapter.counts
        changes: dict[str, object] = {
            "frames_ok": counts.frames_ok,
            "frames_bad": counts.frames_bad,
            "unused": dict(counts.unused),
        }
        if counts.last_error != self._frame_error:
            self._frame_error = counts.last_error
            changes["last_error"] = counts.last_error
        self.state = replace(self.state, **changes)
        if force or time.monotonic() - self._state_written_at >= STATE_EVERY_S:
            self._state_written_at = time.monotonic()
            # A failed state write is retried by the next publish; readings matter more.
            with contextlib.suppress(ChairsideError):
                self.writer.write_device_state(self.state, to_us(self.clock()))


def _log_link(device: str, state: LinkState, message: str) -> None:
    """A link's changes for the support log (the thread adds the chair): never a value."""
    calm = state in (LinkState.CONNECTING, LinkState.CONNECTED, LinkState.STOPPED)
    detail = f": {message}" if message else ""
    log.log(logging.INFO if calm else logging.WARNING, "%s %s%s", device, state.value, detail)
