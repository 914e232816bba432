"""One worker per device: keep the monitor's port open, decode, stamp, store, report the link.

The worker never gives up and never dies silently. A missing port, a pulled cable or a
silent monitor become device states with reasons and counters, and the worker reconnects with
back-off until stopped; each outage is one technical episode (``outage.py``). An unexpected
error anywhere in acquisition is logged with its traceback, counted, shown on the chair as
"acquisition failed", and acquisition starts again with a fresh decoder after a back-off.
An error in alert evaluation never stops acquisition: it is shown as its own technical alert
and the chair's alerting is rebuilt from the store.

Silence is judged on the wall clock *before* reading, and only when the port holds nothing:
a recorder resumed after a freeze reads what the port buffered meanwhile instead of taking
the pause for a silent monitor and reopening (which would flush that backlog).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import serial

from chairside.alerts import REFRESH_S, ChairAlerts
from chairside.device_clock import DeviceClock
from chairside.outage import LinkWatch
from chairside.supervised import Supervised
from devices.base import DeviceAdapter
from devices.ports import open_port
from devices.registry import new_adapter
from vitals.chairs import Chair, Device
from vitals.device_state import DeviceState, LinkState
from vitals.engine import TECHNICAL, Episode
from vitals.errors import ChairsideError, PortUnavailable, StoreError
from vitals.logs import with_chair
from vitals.plausibility import assess
from vitals.reading import Reading, utc_now
from vitals.rules import Level
from vitals.store import StoreWriter
from vitals.times import to_us

log = logging.getLogger("chairside.worker")

BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
RESTART_CALM_S = 60.0  # acquisition that ran this long restarts with the first back-off again
STATE_EVERY_S = 2.0  # counters are rewritten at most this often; state changes at once
ACK_PATIENCE_S = 3.0  # a sender waiting for its ACK waits this long for a busy store
BAD_LINKS = (LinkState.DISCONNECTED, LinkState.NO_DATA, LinkState.FAILED)
# A read returns as soon as bytes arrive; on a quiet port it waits this long, so the loop's
# housekeeping (the alert refresh due once a second, silence, device state) runs once a
# second there rather than ten times: at 32 chairs the empty turns were half the CPU.
READ_WAIT_S = REFRESH_S


class ChairWorker(Supervised):
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
        self.who = f"{chair.name} ({self.key})" if self.key else chair.name
        self.adapter: DeviceAdapter = self._new_adapter()
        self.state = DeviceState(chair.id, LinkState.CONNECTING, clock(), device=self.key)
        self.readings_stored = 0
        self.progress = time.monotonic()  # last sign of life, for the recorder's watchdog
        self.alerts = alerts or ChairAlerts(chair.id, writer)
        self.link = LinkWatch(self.who, chair.dropout_debounce_s)
        self.device_clock = DeviceClock(chair.device_time_tolerance_s, self.who)
        self._state_written_at = 0.0
        self._frame_error = ""
        self._problem_shown = ""
        self._alerts_at = 0.0
        self._alerting_failed: Episode | None = None
        self._in_flight: deque[tuple[object, list[Reading]]] = deque()
        self._thread = self._new_thread()

    def _new_adapter(self) -> DeviceAdapter:
        adapter = new_adapter(self.device.protocol, self.device.options)
        adapter.prime(self.writer.latest_nibp(self.chair.id))
        return adapter

    def _new_thread(self) -> threading.Thread:
        name = f"chair-{self.chair.id}-{self.device.label}"
        run = with_chair(self.chair.id, self.run)  # the chair on every line its thread logs
        return threading.Thread(target=run, name=name, daemon=True)

    # -- supervision -----------------------------------------------------------------------

    def run(self) -> None:
        """Acquire until stopped; an unexpected error restarts acquisition after a back-off."""
        backoff = BACKOFF_FIRST_S
        self._publish(force=True)
        # the chair's open session is replayed beside acquisition, not before it
        self._judged(lambda: self.alerts.build_in_background(self.clock()))
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self._acquire()
            except Exception as exc:
                self._survive(exc)
                if time.monotonic() - began > RESTART_CALM_S:
                    backoff = BACKOFF_FIRST_S
                self._wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
        self._finish()

    def _survive(self, exc: Exception) -> None:
        """Logged with its traceback, counted, shown on the chair; a fresh decoder follows."""
        failures = self.state.failures + 1
        log.error(
            "chair %s: acquisition failed (%d so far); restarting", self.who, failures, exc_info=exc
        )
        self.state = replace(self.state, failures=failures)
        try:
            self._set(LinkState.FAILED, f"acquisition failed: {type(exc).__name__}: {exc}")
            counts = self.adapter.counts
            self.adapter = self._new_adapter()
            self.adapter.counts = counts
        except Exception:  # showing it failed too: acquisition still goes on
            log.exception("chair %s: the failure could not be shown", self.who)

    def _finish(self) -> None:
        with contextlib.suppress(Exception):
            self._set(LinkState.STOPPED, "recorder stopped")
            self._write_link(self.link.stopped(self.clock()))

    # -- the link ------------------------------------------------------------------------

    def _acquire(self) -> None:
        backoff = BACKOFF_FIRST_S
        while not self._stop.is_set():
            try:
                port = open_port(
                    self.device.port, self.adapter.serial, READ_WAIT_S, counts=self.adapter.counts
                )
            except PortUnavailable as exc:
                self._set(LinkState.DISCONNECTED, str(exc))
                self._write_link(self.link.attempted(self.clock()))
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
                self._write_link(self.link.attempted(self.clock()))

    def _wait(self, seconds: float) -> None:
        """Sleep between attempts, still judging the schedule, the outage and the store."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            self._stop.wait(min(REFRESH_S, max(0.0, deadline - time.monotonic())))
            self._housekeeping()

    def _housekeeping(self) -> None:
        """What every turn of the loops does besides reading."""
        self.progress = time.monotonic()
        self._tick()
        self._collect()
        self._write_link(self.link.judge(self.clock()))
        self._publish()

    def _serve(self, port: serial.SerialBase) -> None:
        """Read until the port fails, stays silent too long, or the recorder stops. A port
        opened again after a silence still says "no data" until valid frames arrive: opening
        it is no sign of the monitor, and the chair must not read as connected meanwhile."""
        if self.state.state is not LinkState.NO_DATA:
            self._set(LinkState.CONNECTED, "")
        try:
            port.write(self.adapter.on_connect())
            self._last_data = self._last_nudge = time.monotonic()
            frames_ok, self._bytes_seen = self.adapter.counts.frames_ok, False
            while not self._stop.is_set():
                now = time.monotonic()
                waiting = port.in_waiting
                if not waiting and not self._still_listening(port, now):
                    return
                chunk = _read_waiting(port, waiting)
                if chunk:
                    self._bytes_seen = True
                    self._ingest(self.adapter.feed(chunk))
                owed = self.adapter.take_output() + self.adapter.due(time.monotonic())
                if owed:
                    port.write(owed)
                self._show_link_problem()
                # Data means valid frames: a device sending only garbage is not "connected".
                if self.adapter.counts.frames_ok != frames_ok:
                    frames_ok = self.adapter.counts.frames_ok
                    self._data_flows()
                self._housekeeping()
        except (serial.SerialException, OSError) as exc:
            self._set(LinkState.DISCONNECTED, f"port {self.device.port} failed: {exc}")

    def _still_listening(self, port: serial.SerialBase, now: float) -> bool:
        """Judge silence (nothing waiting on the port): False means reopen the port."""
        silent = now - self._last_data
        limit = self.chair.no_data_after_s
        what = "only bad frames" if self._bytes_seen else "no data"
        since = self.clock() - timedelta(seconds=silent)
        if silent >= 2 * limit:
            self._set(LinkState.NO_DATA, f"{what} for {silent:.0f} s; reopening the port", since)
            return False
        if silent >= limit and now - self._last_nudge >= limit:
            detail = f" (last: {self.adapter.counts.last_error})" if self._bytes_seen else ""
            self._set(LinkState.NO_DATA, f"{what} for {silent:.0f} s{detail}", since)
            port.write(self.adapter.on_silence())
            self._last_nudge = now
        return True

    def _data_flows(self) -> None:
        self._last_data, self._bytes_seen = time.monotonic(), False
        self._set(LinkState.CONNECTED, "")
        self._write_link(self.link.data(self.clock()))
        self.state = replace(self.state, dropouts=self.link.dropouts)

    def _show_link_problem(self) -> None:
        """A protocol session that is down (an association aborted, refused) is no data, with
        the protocol's reason, from the moment the adapter knows it."""
        problem = self.adapter.link_problem
        if problem != self._problem_shown:
            self._problem_shown = problem
            if problem:
                self._set(LinkState.NO_DATA, problem)

    def _set(self, state: LinkState, message: str, since: datetime | None = None) -> None:
        since = since or self.clock()
        if state is not self.state.state:
            _log_link(self.device.label, state, message)
            self.state = replace(self.state, state=state, since=since, last_error=message)
            self._publish(force=True)
        elif message and message != self.state.last_error:
            self.state = replace(self.state, last_error=message)
            self._publish(force=True)
        if state in BAD_LINKS:
            self._write_link(self.link.went_bad(state, message, since))

    def _write_link(self, episodes: list[Episode]) -> None:
        if episodes:
            self._write_episodes(episodes)

    def _write_episodes(self, episodes: list[Episode]) -> None:
        """Durable: kept by the writer while the store refuses, so never lost."""
        try:
            self.writer.write_episodes(self.chair.id, self.alerts.session_id, episodes)
        except StoreError as exc:
            log.error("chair %s: technical episode not written: %s", self.who, exc)

    # -- readings ------------------------------------------------------------------------

    def _ingest(self, readings: list[Reading]) -> None:
        """Judge, stamp and store what a chunk completed; answer the sender once stored."""
        now = self.clock()
        readings, clock_episodes = self.device_clock.judge(readings, now)
        self._write_link(clock_episodes)
        source = self.device.label
        batch = [r.stamped(self.chair.id, now, source) for r in assess(readings)]
        if self.adapter.acks_on_commit:
            self.adapter.settle(self._store_now(batch))
        elif batch:
            self._in_flight.append((self.writer.post_readings(batch), batch))
            self._collect()

    def _store_now(self, batch: list[Reading]) -> bool:
        """For senders acknowledged per message: committed now, or refused (they resend)."""
        if not batch:
            return True
        try:
            self.writer.write_readings(batch)
        except StoreError as exc:
            self.state = replace(
                self.state, last_error=f"not stored, sender asked to resend: {exc}"
            )
            return False
        self._stored(batch)
        return True

    def _collect(self) -> None:
        """Readings the writer has committed (or, beyond its bound, dropped), in order."""
        while self._in_flight and self._in_flight[0][0].done:
            ticket, batch = self._in_flight.popleft()
            if ticket.committed:
                self._stored(batch)
            else:
                log.error("chair %s: %d readings lost: %s", self.who, len(batch), ticket.error)

    def _stored(self, batch: list[Reading]) -> None:
        self.readings_stored += len(batch)
        self.state = replace(self.state, last_data=batch[-1].time)
        self._judged(lambda: self.alerts.feed(batch))

    # -- alerting --------------------------------------------------------------------------

    def _tick(self) -> None:
        """Refresh the chair's alert rules and schedule at most once a second."""
        if time.monotonic() - self._alerts_at < REFRESH_S:
            return
        self._alerts_at = time.monotonic()
        self._judged(lambda: self.alerts.refresh(self.clock()))

    def _judged(self, evaluate: Callable[[], None]) -> None:
        """Alerting must never stop acquisition; a failure is its own technical alert."""
        try:
            evaluate()
        except Exception as exc:
            self._alerts_failed(exc)
            return
        if self._alerting_failed is not None:
            ended = replace(self._alerting_failed, ended=self.clock())
            self._alerting_failed = None
            self._write_episodes([ended])

    def _alerts_failed(self, exc: Exception) -> None:
        log.error("chair %s: alert evaluation failed", self.who, exc_info=exc)
        self.state = replace(self.state, last_error=f"alert evaluation failed: {exc}")
        with contextlib.suppress(Exception):
            self.alerts.invalidate()  # rebuilt from the store at the next refresh
        if self._alerting_failed is None:
            reason = (
                f"{self.who}: alert evaluation failed ({type(exc).__name__}: {exc}); values "
                "are stored but not judged until it recovers"
            )
            self._alerting_failed = Episode(
                "alerting-failed", TECHNICAL, Level.WARNING, self.clock(), reason=reason
            )
            self._write_episodes([self._alerting_failed])
        self._publish(force=True)

    # -- the device state ----------------------------------------------------------------

    def _publish(self, force: bool = False) -> None:
        counts = self.adapter.counts
        changes: dict[str, object] = {
            "frames_ok": counts.frames_ok,
            "frames_bad": counts.frames_bad,
            "unused": dict(counts.unused),
            "dropouts": self.link.dropouts,
        }
        if counts.last_error != self._frame_error:
            self._frame_error = counts.last_error
            changes["last_error"] = counts.last_error
        if any(getattr(self.state, name) != value for name, value in changes.items()):
            self.state = replace(self.state, **changes)
        if force or time.monotonic() - self._state_written_at >= STATE_EVERY_S:
            self._state_written_at = time.monotonic()
            # A failed state write is retried by the next publish; readings matter more.
            with contextlib.suppress(ChairsideError):
                self.writer.write_device_state(
                    self.state, to_us(self.clock()), wait=False, change=force
                )


MAX_CHUNK = 65536


def _read_waiting(port: serial.SerialBase, waiting: int) -> bytes:
    """What the port holds now, in one chunk (pyserial's socket:// reports only "1 or more"
    waiting), so a message is decoded and stored once, not looked after byte by byte.

    A sender that hangs up right after its last message leaves that message and the hang-up
    in the same buffer: the bytes already read are returned, and the hang-up is reported by
    the next read, so the last message before a disconnection is stored, not dropped."""
    chunk = port.read(waiting or 1)
    try:
        while chunk and len(chunk) < MAX_CHUNK and (more := port.in_waiting):
            chunk += port.read(more)
    except (serial.SerialException, OSError):
        if not chunk:
            raise
    return chunk


def _log_link(device: str, state: LinkState, message: str) -> None:
    """A link's changes for the support log (the thread adds the chair): never a value."""
    calm = state in (LinkState.CONNECTING, LinkState.CONNECTED, LinkState.STOPPED)
    detail = f": {message}" if message else ""
    log.log(logging.INFO if calm else logging.WARNING, "%s %s%s", device, state.value, detail)
