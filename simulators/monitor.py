"""A simulated bedside monitor: a patient model, a protocol encoder and a virtual line.

It behaves like the real device towards the recorder: silent until a client requests data,
then a frame every requested interval of *simulated* time, which runs ``speed`` times faster
than the wall clock. Scenario outages make the line go silent or the port vanish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from devices.base import MonitorSide
from simulators.links import Link
from simulators.physiology import IV_INFUSION_S, PatientModel
from simulators.truth import TruthLog
from vitals.reading import NIBP_PARAMS, Param

# (chair, event kind, wall-clock time, value): the session milestones the scenario reaches
EventHook = Callable[[str, str, datetime, float | None], None]
log = logging.getLogger("chairside.simulator")


class SimClock:
    """Simulated time shared by the devices on one chair, so they see one patient at once."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.started = time.monotonic()
        self.epoch = time.time()

    def now(self) -> float:
        """Simulated seconds since the session began."""
        return (time.monotonic() - self.started) * self.speed


class SimulatedMonitor:
    """Runs in its own thread until ``stop()``."""

    def __init__(
        self,
        chair: str,
        model: PatientModel,
        encoder: MonitorSide,
        link: Link,
        speed: float = 1.0,
        truth: TruthLog | None = None,
        on_event: EventHook | None = None,
        clock: SimClock | None = None,
        phase_s: float = 0.0,
    ) -> None:
        if not 0 < speed <= 1000:
            raise ValueError(f"speed must be in (0, 1000], got {speed}")
        self.chair, self.model, self.encoder, self.link = chair, model, encoder, link
        self.speed, self.truth, self.on_event = speed, truth, on_event
        self.clock = clock or SimClock(speed)
        self.phase_s = phase_s  # simulated seconds before the first record
        self.frames_sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sim-{chair}", daemon=True)
        self._vanished = False
        self._unplugged = False
        self._muted = False
        self._last_nibp: tuple = ()
        self._soon: list[Callable[[], None]] = []
        self._milestones = self._schedule_milestones()

    def start(self) -> None:
        """Start streaming; the link must be open (its URL goes into the chair config)."""
        self._thread.start()

    def stop(self) -> None:
        self.request_stop()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)
        self.link.close(drain=True)

    def request_stop(self) -> None:
        """Stop sending; ``stop()`` then waits for the thread and closes the line."""
        self._stop.set()

    def unplug(self, vanish: bool = True) -> None:
        """Pull the cable until ``replug()``: the port vanishes, or (``vanish=False``) stays
        open but silent, the two outages of the disconnect scenario."""
        if vanish:
            self._unplugged = True
        else:
            self._muted = True

    def call_soon(self, action: Callable[[], None]) -> None:
        """Run ``action`` in the monitor's own thread (e.g. the monitor ends an association),
        so it never races the protocol state the thread is using."""
        self._soon.append(action)

    def replug(self) -> None:
        self._unplugged = self._muted = False
        self._muted = False

    def _run(self) -> None:
        epoch = self.clock.epoch
        next_frame_at = self.phase_s
        while not self._stop.is_set():
            sim_now = self.clock.now()
            self.model.advance_to(int(sim_now))
            self._reach_milestones(epoch)
            self._follow_outage()
            while self._soon:
                self._soon.pop(0)()
                self._reply()
            wait = (next_frame_at - sim_now) / self.speed if self.encoder.interval_s else 0.2
            incoming = self.link.read(timeout=min(0.2, max(0.0, wait)))
            streaming = self.encoder.interval_s
            requested = bool(incoming) and self.encoder.feed(incoming)
            if incoming:
                self._reply()
            if requested and self.encoder.polled:
                self._answer_polls(int(epoch + sim_now))
            elif requested and not streaming:
                next_frame_at = sim_now  # a first request is answered at once; a repeat
                # keeps the cadence, so no two records carry the same device time
            if self.encoder.interval_s and sim_now >= next_frame_at and not self._link_down():
                # Stamp the record with its scheduled time, so a simulator that fell behind
                # catches up with distinct records instead of two of the same second.
                self._send(int(epoch + next_frame_at))
                next_frame_at = max(
                    next_frame_at + self.encoder.interval_s, sim_now - self.encoder.interval_s
                )

    def _reply(self) -> None:
        """What the protocol answers by itself (an association result), lost if the line is."""
        replies = self.encoder.take_replies()
        if replies and not self._link_down():
            self.link.write(replies)

    def _answer_polls(self, time_s: int) -> None:
        """One frame for each waiting poll; with the cable out the answers are lost."""
        while self.encoder.feed(b""):
            if self._link_down():
                self.encoder.encode(time_s, {})
            else:
                self._send(time_s)

    def _schedule_milestones(self) -> list[tuple[int, str]]:
        """Dose (or infusion start and stop) at the scenario's times, in simulated seconds."""
        dose = self.model.dose_at_s
        if self.model.scenario.route == "iv":
            return [(dose, "infusion-start"), (dose + IV_INFUSION_S, "infusion-stop")]
        return [(dose, "dose")]

    def _reach_milestones(self, epoch: float) -> None:
        while self._milestones and self.model.t >= self._milestones[0][0]:
            at_s, kind = self._milestones.pop(0)
            if self.on_event is None:
                continue
            when = datetime.fromtimestamp(epoch, UTC) + timedelta(seconds=at_s / self.speed)
            try:
                self.on_event(self.chair, kind, when, None)
            except Exception as exc:  # a failed annotation must never stop the monitor
                log.warning("%s: could not log %s: %s", self.chair, kind, exc)

    def _link_down(self) -> bool:
        return self._unplugged or self._muted or self.model.in_outage()[0]

    def _follow_outage(self) -> None:
        down, vanish = self.model.in_outage()
        if self._unplugged:
            down = vanish = True
        if down and vanish and not self._vanished:
            self.link.close()
            self.encoder.reset()  # as after a power cycle
            self._vanished = True
        elif not down and self._vanished:
            self.link.open()
            self._vanished = False

    def _send(self, time_s: int) -> None:
        values = self.model.display()
        frame, decoded = self.encoder.encode(time_s, values, self.model.artifact)
        if not self.link.write(frame):
            return
        self.frames_sent += 1
        if self.truth is not None:
            self.truth.sent(self.chair, self._new_readings(decoded), datetime.now(UTC))

    def _new_readings(self, decoded: dict[Param, float | None]) -> dict[Param, float | None]:
        """The frame's readings, with an NIBP result only the first time it is sent."""
        nibp = tuple(decoded.get(p) for p in NIBP_PARAMS)
        fresh = nibp != self._last_nibp
        self._last_nibp = nibp
        return {p: v for p, v in decoded.items() if p not in NIBP_PARAMS or fresh}
