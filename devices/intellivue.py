"""Philips IntelliVue patient monitors (MP20-MP90, MX series) over the MIB/RS232 Data Export
interface, protocol ``intellivue``.

Port: 115200 baud, 8 data bits, no parity, 1 stop bit, no flow control. The monitor's MIB or
RS232 port must be configured for "Data Export" (Configuration mode: Main Setup → Hardware →
Interfaces; the port's protocol set to Data Export, not to a printer or another protocol).

The monitor says nothing until a client associates: association request → association
result → the monitor's MDS create event report → the client's result. The client then polls
the numerics every ``interval_s`` seconds (default 5) and the monitor answers each poll with
every numeric it shows. The association stays open only while the client keeps talking: when
polls are further apart than KEEPALIVE_S, the client polls the MDS in between. A release
request is answered and, like an abort or refusal, is followed by a new association; so is a
monitor that stops answering. While the association is down the adapter says why in
``link_problem``, which the recorder shows as the device's state.

Poll answers to the plain and to the extended poll action (a client such as VSCapture polls
with the extended one) are read alike. Answers that arrive outside an association, answers
about other object classes, numerics Chairside does not record and other messages are
counted by kind in ``counts.unused``, never used.

Values: HR (ECG, 0x4182), pulse rate (SpO2, 0x4822), SpO2 (0x4BB8) and NIBP systolic,
diastolic and mean (0x4A05/06/07, a compound numeric) in bpm, %, mmHg (kPa is converted).
Measurement states INVALID or UNAVAILABLE, FLOAT-Type NaN/NRes/infinities, demo or test data
and an unexpected unit are quality ``invalid``; QUESTIONABLE is ``artifact``. The numerics
repeat the last NIBP in every poll, so a new measurement is recognised when the triple
changes, as for the GE S/5. The monitor's clock is local wall time without a zone, so
readings carry no device time; the recorder's receipt time stamps them.

Wire format and sources: see ``devices/intellivue_wire.py``.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from devices import intellivue_wire as wire
from devices.base import DeviceAdapter, SerialSettings
from devices.framing import FRAMING_ERROR, EscapedFramer
from vitals.errors import ChecksumError, ConfigError, FrameError
from vitals.reading import NIBP_PARAMS, Param, Quality, Reading

PHYSIO: dict[int, Param] = {
    0x4182: Param.HR,  # NOM_ECG_CARD_BEAT_RATE
    0x4822: Param.PULSE,  # NOM_PULS_OXIM_PULS_RATE
    0x4BB8: Param.SPO2,  # NOM_PULS_OXIM_SAT_O2
    0x4A05: Param.SBP,  # NOM_PRESS_BLD_NONINV_SYS
    0x4A06: Param.DBP,  # NOM_PRESS_BLD_NONINV_DIA
    0x4A07: Param.MAP,  # NOM_PRESS_BLD_NONINV_MEAN
}
PHYSIO_ID = {param: code for code, param in PHYSIO.items()}
NIBP_COMPOUND = 0x4A04  # NOM_PRESS_BLD_NONINV
# What a poll answer is about (its polled object class), in a person's words
OBJECT_CLASSES = {
    wire.NOM_MOC_VMO_METRIC_NU: "numerics",
    0x0009: "waves",  # NOM_MOC_VMO_METRIC_SA_RT
    wire.NOM_MOC_VMS_MDS: "the monitor itself",
    0x002A: "patient demographics",  # NOM_MOC_PT_DEMOG
    0x0036: "alarms",  # NOM_MOC_VMO_AL_MON
}
COMMANDS = {3: "get", 4: "set", 5: "confirmed set", wire.CMD_CONFIRMED_ACTION: "action"}
EVENT_REPORTS = (wire.CMD_EVENT_REPORT, wire.CMD_CONFIRMED_EVENT_REPORT)
MMHG, KPA, BPM, PERCENT = 0x0F20, 0x0F03, 0x0AA0, 0x0220
UNIT_OF = {
    Param.HR: BPM,
    Param.PULSE: BPM,
    Param.SPO2: PERCENT,
    Param.SBP: MMHG,
    Param.DBP: MMHG,
    Param.MAP: MMHG,
}
MMHG_PER_KPA = 7.50062
MAX_FRAME = wire.HEADER.size + wire.MAX_USER_DATA + 2

ASSOCIATION_TIMEOUT_S = 5.0  # no result to a request: ask again
RETRY_AFTER_S = {"released": 1.0, "aborted": 1.0, "refused": 10.0}
KEEPALIVE_S = 4.0  # the monitor drops a client that is silent for several seconds
MISSED_POLLS = 3  # unanswered polls before the association is taken as lost
MIN_POLL_S = 0.5  # numerics change about once a second; the profile allows 312.5 ms


class Phase(enum.Enum):
    IDLE = "not associated"
    ASSOCIATING = "association requested"
    AWAITING_MDS = "association accepted, waiting for the monitor's MDS create event"
    ASSOCIATED = "associated"


class IntelliVueAdapter(DeviceAdapter):
    """Client side of the Data Export protocol: associates, polls numerics, keeps it open."""

    protocol: ClassVar[str] = "intellivue"
    serial: ClassVar[SerialSettings] = SerialSettings(115200, 8, "N", 1)

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(options)
        self.interval_s = _interval(dict(options or {}))
        self.clock = clock
        self.phase = Phase.IDLE
        self._framer = EscapedFramer(wire.BOF, wire.EOF, wire.ESC, MAX_FRAME)
        self._since = self._sent_at = self._polled_at = self._answered_at = -1e9
        self._retry_at = 0.0
        self._invoke_id = 0
        self._last_nibp: tuple[float | None, ...] | None = None

    # -- what the recorder calls -------------------------------------------------------

    def on_connect(self) -> bytes:
        self._framer.reset()
        return self._associate("")

    def on_silence(self) -> bytes:
        """The monitor went quiet: drop whatever association it thinks it has, start anew."""
        return wire.frame(wire.abort()) + self._associate("no answer from the monitor")

    def due(self, now: float) -> bytes:
        if self.phase in (Phase.ASSOCIATING, Phase.AWAITING_MDS):
            if now - self._since >= ASSOCIATION_TIMEOUT_S:
                return self._associate(f"no answer to the association request ({self.phase.value})")
            return b""
        if self.phase is Phase.IDLE:
            return self._associate(self.link_problem) if now >= self._retry_at else b""
        quiet = now - max(self._answered_at, self._since)
        if quiet >= MISSED_POLLS * max(self.interval_s, KEEPALIVE_S):
            return wire.frame(wire.abort()) + self._associate(
                f"no poll answered for {quiet:.0f} s; associating again"
            )
        if now - self._polled_at >= self.interval_s:
            self._polled_at = now
            return self._send(self._poll(wire.NOM_MOC_VMO_METRIC_NU))
        if now - self._sent_at >= KEEPALIVE_S:
            return self._send(self._poll(wire.NOM_MOC_VMS_MDS))  # keeps the association open
        return b""

    def prime(self, last_values: Mapping[str, float | None]) -> None:
        if all(p.value in last_values for p in NIBP_PARAMS):
            self._last_nibp = tuple(last_values[p.value] for p in NIBP_PARAMS)

    def feed(self, chunk: bytes) -> list[Reading]:
        readings = [r for content in self._framer.feed(chunk) for r in self._message(content)]
        for _ in range(self._framer.take_bad()):
            self.bad_frame(FRAMING_ERROR)
        return readings

    # -- the association ---------------------------------------------------------------

    def _associate(self, why: str) -> bytes:
        self.link_problem = why
        self._enter(Phase.ASSOCIATING)
        return self._send(wire.association_request())

    def _enter(self, phase: Phase) -> None:
        self.phase, self._since = phase, self.clock()

    def _lost(self, what: str) -> None:
        self.link_problem = f"association {what} by the monitor"
        if what == "refused":
            self.link_problem += " (is its MIB/RS232 port set to Data Export?)"
        self._enter(Phase.IDLE)
        self._retry_at = self.clock() + RETRY_AFTER_S[what]

    def _send(self, user_data: bytes) -> bytes:
        self._sent_at = self.clock()
        return wire.frame(user_data)

    def _poll(self, object_code: int) -> bytes:
        self._invoke_id = (self._invoke_id + 1) & 0xFFFF
        return wire.poll_request(self._invoke_id, self._invoke_id, object_code)

    # -- what the monitor says ---------------------------------------------------------

    def _message(self, content: bytes) -> list[Reading]:
        try:
            user_data = wire.unframe(content)
            if not user_data:
                raise FrameError("empty message")
            spdu = user_data[0]
            if spdu == wire.DATA_EXPORT:
                return self._data_export(user_data)
            self._session(spdu)
        except FrameError as exc:
            self.bad_frame(str(exc) if isinstance(exc, ChecksumError) else f"frame error: {exc}")
        return []

    def _session(self, spdu: int) -> None:
        if spdu == wire.ASSOC_ACCEPT:
            if self.phase is Phase.ASSOCIATING:
                self._enter(Phase.AWAITING_MDS)
        elif spdu == wire.ASSOC_REFUSE:
            self._lost("refused")
        elif spdu == wire.ABORT:
            self._lost("aborted")
        elif spdu == wire.RELEASE_REQUEST:
            self.outbox += self._send(wire.release(wire.RELEASE_RESULT))
            self._lost("released")
        elif spdu == wire.RELEASE_RESULT:
            self._enter(Phase.IDLE)
        else:
            raise FrameError(f"unknown session message 0x{spdu:02X}")

    def _data_export(self, user_data: bytes) -> list[Reading]:
        op = wire.operation(user_data)
        if op.kind == wire.ROER:
            raise FrameError(f"the monitor answered invoke {op.invoke_id} with error {op.command}")
        if op.kind == wire.ROIV and op.command in EVENT_REPORTS:
            event = wire.event_type(op.body)
            if event == wire.NOM_NOTI_MDS_CREAT and op.command == wire.CMD_CONFIRMED_EVENT_REPORT:
                self.outbox += self._send(wire.mds_create_result(op.invoke_id))
                self._enter(Phase.ASSOCIATED)
                self._polled_at = -1e9  # poll at once
            else:
                self.not_used(f"event report 0x{event:04X}")
            return []
        polled = op.kind in (wire.RORS, wire.ROLRS) and op.command == wire.CMD_CONFIRMED_ACTION
        if polled and wire.action_type(op.body) in wire.POLL_ACTIONS:
            return self._poll_result(wire.poll_reply(op.body))
        what = "request" if op.kind == wire.ROIV else "answer"
        self.not_used(f"{COMMANDS.get(op.command, f'command {op.command}')} {what}")
        return []

    def _poll_result(self, reply: wire.PollReply) -> list[Reading]:
        """Numerics from a plain or extended poll answer, while associated; anything else
        in it, or any answer outside an association, is counted and not used."""
        self.counts.frames_ok += 1
        if self.phase is not Phase.ASSOCIATED:
            self.not_used("poll answer outside an association")
            return []
        self._answered_at = self.clock()
        self.link_problem = ""
        if reply.object_code != wire.NOM_MOC_VMO_METRIC_NU:
            if reply.object_code != wire.NOM_MOC_VMS_MDS:  # our own keep-alive's answer
                what = OBJECT_CLASSES.get(reply.object_code, f"class 0x{reply.object_code:04X}")
                self.not_used(f"poll answer for {what}")
            return []
        found: dict[Param, Reading] = {}
        for obs in reply.observations:
            param = PHYSIO.get(obs.physio_id)
            if param is None:
                self.not_used(f"numeric 0x{obs.physio_id:04X}")
            elif param not in found:
                found[param] = self._reading(param, obs)
        nibp = tuple(found[p].value if p in found else None for p in NIBP_PARAMS)
        if any(p in found for p in NIBP_PARAMS):
            if nibp == self._last_nibp:
                for p in NIBP_PARAMS:
                    found.pop(p, None)
            self._last_nibp = nibp
        return list(found.values())

    def _reading(self, param: Param, obs: wire.NuObs) -> Reading:
        """No device time: the monitor's clock is local wall time without a zone, so the
        recorder's receipt time is the only trustworthy stamp."""
        value = wire.float_value(obs.raw)
        if obs.state & (wire.DEMO_DATA | wire.TEST_DATA):
            self.counts.last_error = "the monitor sends demo or test data, not a patient's"
            self.not_used("demo or test data (measurement state)")
            return Reading(param, None, Quality.INVALID)
        if obs.state & (wire.INVALID | wire.UNAVAILABLE) or value is None:
            return Reading(param, None, Quality.INVALID)
        if obs.unit == KPA and UNIT_OF[param] == MMHG:
            value = round(value * MMHG_PER_KPA, 1)
        elif obs.unit != UNIT_OF[param]:
            self.counts.last_error = f"{param.value} came in unit code 0x{obs.unit:04X}"
            self.not_used(f"{param.value} in unit 0x{obs.unit:04X}")
            return Reading(param, None, Quality.INVALID)
        quality = Quality.ARTIFACT if obs.state & wire.QUESTIONABLE else Quality.OK
        return Reading(param, value, quality)


def _interval(options: dict[str, Any]) -> float:
    interval = options.pop("interval_s", 5)
    if options:
        raise ConfigError(f"intellivue: unknown options {sorted(options)}; known: ['interval_s']")
    if not isinstance(interval, int | float) or not MIN_POLL_S <= interval <= 3600:
        raise ConfigError(
            f"intellivue: interval_s must be {MIN_POLL_S:g}-3600 seconds, got {interval!r}"
        )
    return float(interval)


class IntelliVueMonitor:
    """Monitor side, for the simulator: accepts an association and answers every poll."""

    protocol: ClassVar[str] = "intellivue"
    polled: ClassVar[bool] = True  # sends only in answer to a poll, never on its own
    interval_s: int | None = None

    def __init__(self) -> None:
        self._framer = EscapedFramer(wire.BOF, wire.EOF, wire.ESC, MAX_FRAME)
        self._replies = bytearray()
        self._polls: list[tuple[int, int, int]] = []  # (invoke id, poll number, class)
        self.associated = False
        self._started = time.monotonic()

    def chair_options(self, interval_s: float) -> dict[str, Any]:
        """Poll every ``interval_s`` wall-clock seconds, but not faster than the adapter may."""
        return {"interval_s": max(MIN_POLL_S, interval_s)}

    def reset(self) -> None:
        """A power cycle: the association and any pending poll are gone."""
        self.associated = False
        self._polls.clear()
        self._replies.clear()

    def drop_association(self, how: str = "abort") -> None:
        """End the association from the monitor's side, as a real one does now and then."""
        self.associated = False
        self._polls.clear()
        spdu = wire.abort() if how == "abort" else wire.release(wire.RELEASE_REQUEST)
        self._replies += wire.frame(spdu)

    def take_replies(self) -> bytes:
        out, self._replies = bytes(self._replies), bytearray()
        return out

    def feed(self, chunk: bytes) -> bool:
        """Take client bytes; True when a poll waits for its answer (see ``encode``)."""
        for content in self._framer.feed(chunk):
            try:
                self._message(wire.unframe(content))
            except FrameError:
                continue  # the monitor ignores what it cannot read
        return bool(self._polls)

    def _message(self, user_data: bytes) -> None:
        spdu = user_data[0] if user_data else None
        if spdu == wire.ASSOC_REQUEST:
            self._polls.clear()
            self._replies += wire.frame(wire.association_result())
            moment = datetime.now(UTC)
            self._replies += wire.frame(wire.mds_create_event(1, moment, self._relative()))
        elif spdu in (wire.ABORT, wire.RELEASE_RESULT):
            self.associated = False
        elif spdu == wire.RELEASE_REQUEST:
            self.associated = False
            self._replies += wire.frame(wire.release(wire.RELEASE_RESULT))
        elif spdu == wire.DATA_EXPORT:
            op = wire.operation(user_data)
            if op.kind == wire.RORS and op.command == wire.CMD_CONFIRMED_EVENT_REPORT:
                self.associated = True  # the client answered the MDS create event
            elif self.associated and (op.kind, op.command) == (
                wire.ROIV,
                wire.CMD_CONFIRMED_ACTION,
            ):
                self._polls.append((op.invoke_id, *wire.parse_poll_request(op.body)))

    def _relative(self) -> int:
        return int((time.monotonic() - self._started) * wire.TICKS_PER_S) & 0xFFFFFFFF

    def encode(
        self, time_s: int, values: Mapping[Param, float | None], artifact: str = ""
    ) -> tuple[bytes, dict]:
        """The answer to the oldest waiting poll (or an unasked one) and the values it carries."""
        unasked = (0, 0, wire.NOM_MOC_VMO_METRIC_NU)
        invoke_id, number, code = self._polls.pop(0) if self._polls else unasked
        moment = datetime.fromtimestamp(time_s, UTC)
        sent: dict[Param, float | None] = {}
        objects = []
        if code == wire.NOM_MOC_VMO_METRIC_NU:
            observations = {p: self._observation(p, values.get(p), artifact) for p in values}
            sent = {p: _as_read(o) for p, o in observations.items()}
            for handle, param in enumerate((Param.HR, Param.PULSE, Param.SPO2), start=1):
                if param in observations:
                    objects.append(wire.numeric(handle, [observations[param]]))
            nibp = [observations[p] for p in NIBP_PARAMS if p in observations]
            if nibp:
                objects.append(wire.numeric(10, nibp))
        result = wire.poll_result(invoke_id, number, code, moment, self._relative(), objects)
        return wire.frame(result), sent

    @staticmethod
    def _observation(param: Param, value: float | None, artifact: str) -> wire.NuObs:
        state = 0
        if value is None:
            state = wire.INVALID | wire.UNAVAILABLE
        elif artifact == "motion" and param in (Param.SPO2, Param.PULSE):
            state = wire.QUESTIONABLE
        elif artifact == "lead-off" and param is Param.HR:
            state, value = wire.INVALID, None
        return wire.NuObs(PHYSIO_ID[param], state, UNIT_OF[param], wire.float_type(value))


def _as_read(observation: wire.NuObs) -> float | None:
    """The value the client takes from ``observation`` (None when it is not valid)."""
    if observation.state & (wire.INVALID | wire.UNAVAILABLE):
        return None
    return wire.float_value(observation.raw)
