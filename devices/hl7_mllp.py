"""HL7 v2 ORU^R01 observations over MLLP, protocol ``hl7-mllp``: how many monitors and
gateways (Mindray, Philips, GE and others) send vital signs on a network.

Transport: TCP, either ``socket://host:port`` to a gateway that listens or
``listen://host:port`` for a sender that connects to the recorder; or a serial line.
Framing (MLLP): ``0x0B message 0x1C 0x0D``; bytes outside a block are discarded and counted.
Segments may be separated by CR (the standard), LF or CR LF.

Each OBX is read by devices/hl7_observations.py: LOINC and ISO/IEEE 11073-10101 MDC codes
by number and by name (both NIBP families, MDC_PRESS_BLD_NONINV_* and MDC_PRESS_CUFF_*;
heart rate; pulse rate from ECG, oximeter and cuff; SpO2; Philips' MDIL notation), a
named dialect (option ``dialect``, devices/hl7_dialects.py) and a per-chair vendor map
(option ``codes``); units in UCUM or MDC form are converted (kPa → mmHg); demo, test and
simulation data, vendor "no value" numbers and non-final results are stored ``invalid``.
OBX-14 (else MSH-7) is the device time when it carries a UTC offset (a time that cannot be
represented, such as 99991231235959-2359, is no device time); the same value with the same
observation time (a gateway resending the last NIBP) is stored once, while a different value
at the same time (a monitor whose clock stands still) is a new reading. Whatever
arrives intact but gives no reading — another message type, an OBX code Chairside does not
record, a resent value — is counted by kind in ``counts.unused``.

Acknowledgment means stored: the ACK of a message is sent only once the recorder knows whether
its readings are committed (``settle``): AA when they are, AR ("rejected for reasons unrelated
to its content", HL7 v2.6 chapter 2.9.2) while the store refuses writes, so the sender keeps
the message and sends it again. Original mode (no MSH-15) always gets an ACK; enhanced mode
follows MSH-15 (AL always, ER/SU on error/success only, NE never). A message that cannot be
parsed gets AE at once: its own ACK when its MSH can be read, otherwise an ACK of
Chairside's with an empty MSA-2 and an ERR saying why (HL7 table 0357, code 100), so a
sender waiting for an answer is not left to time out and resend the same broken frame.

Parsing uses the ``hl7`` package; this module only maps fields. Sources: HL7 v2.6 chapter 7
(ORU^R01, OBX), chapter 2 (MSH, ACK, MLLP in appendix C), IHE PCD-01 (MDC codes in OBX-3).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import hl7

from devices.base import DeviceAdapter, SerialSettings, StreamingMonitor
from devices.hl7_limits import OPTION_NAMES as LIMIT_OPTIONS
from devices.hl7_limits import MessageRefused, SenderLimits
from devices.hl7_observations import DEMO_KIND, ObservationReader, Obx
from vitals.codes import MDC, UCUM
from vitals.errors import ConfigError
from vitals.reading import Param, Reading

START, END = b"\x0b", b"\x1c\x0d"
MAX_MESSAGE = 1 << 20
OBSERVATION_MESSAGES = {"ORU^R01", "ORU"}  # PCD-01 observations; older senders omit R01
# What the hl7 package raises on malformed input (found by bench/fuzz_devices.py): it is
# counted as a bad frame, never allowed to stop the worker.
LIBRARY_ERRORS = (IndexError, KeyError, ValueError, TypeError, AttributeError, AssertionError)


def frame(message: str) -> bytes:
    return START + message.encode("utf-8") + END


def frame_text(text: bytes) -> bytes:
    """Messages as published (plain text, a segment per line, no MLLP) as they travel on the
    line: each message from its MSH on, segments ended by CR, in one MLLP block."""
    messages: list[list[bytes]] = []
    for line in text.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
        if line.startswith(b"MSH|") or not messages:
            messages.append([])
        if line.strip():
            messages[-1].append(line)
    return b"".join(START + b"\r".join(m) + b"\r" + END for m in messages if m)


class Hl7MllpAdapter(DeviceAdapter):
    """Receives ORU^R01 messages, answers with ACKs, maps OBX segments to readings."""

    protocol: ClassVar[str] = "hl7-mllp"
    serial: ClassVar[SerialSettings] = SerialSettings(9600, 8, "N", 1)
    acks_on_commit: ClassVar[bool] = True

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        options = dict(options or {})
        vendor, dialect = options.pop("codes", {}), options.pop("dialect", "standard")
        self.limits = SenderLimits.from_options(options)
        if options:
            known = ["codes", "dialect", *LIMIT_OPTIONS]
            raise ConfigError(f"hl7-mllp: unknown options {sorted(options)}; known: {known}")
        self.observations = ObservationReader(dialect, vendor)
        self._buffer = bytearray()
        self._seen: dict[Param, tuple[datetime, float | None]] = {}
        # (message, its MSH, a fixed answer) waiting for ``settle``; (None, None, why) for a
        # frame that has no MSH to answer
        self._unsettled: list[tuple[hl7.Message | None, hl7.Segment | None, str]] = []
        self._seen_before: dict[Param, tuple[datetime, float | None]] = {}
        self._answers = 0  # Chairside's own ACKs (for frames it cannot answer in their terms)

    def on_connect(self) -> bytes:
        self._buffer.clear()
        return b""

    def on_silence(self) -> bytes:
        return b""  # a sender speaks when it has something to say

    def feed(self, chunk: bytes) -> list[Reading]:
        self._buffer += chunk
        readings: list[Reading] = []
        while True:
            start = self._buffer.find(START)
            if start < 0:
                self._discard(len(self._buffer))
                return readings
            self._discard(start)
            end = self._buffer.find(END)
            if end < 0:
                if len(self._buffer) > MAX_MESSAGE:
                    self.bad_frame(f"frame error: MLLP block over {MAX_MESSAGE} bytes")
                    self._buffer.clear()
                return readings
            restart = self._buffer.rfind(START, 1, end)
            if restart > 0:  # a block began again before this one ended: the first was cut off
                self.bad_frame("frame error: MLLP block cut off by the start of another")
                del self._buffer[:restart]
                continue
            block, self._buffer = bytes(self._buffer[1:end]), self._buffer[end + len(END) :]
            readings += self._message(block)

    def _discard(self, count: int) -> None:
        if count and bytes(self._buffer[:count]).strip():
            self.bad_frame(f"frame error: {count} bytes outside an MLLP block")
        del self._buffer[:count]

    def _message(self, block: bytes) -> list[Reading]:
        text = block.decode("utf-8", errors="replace").replace("\r\n", "\r").replace("\n", "\r")
        if len(block) > self.limits.max_message_bytes:  # parse only what the answer needs
            text = text.strip("\r").split("\r", 1)[0]
        try:
            message = hl7.parse(text.strip("\r"))
            msh = message.segment("MSH")
        except (hl7.ParseException, *LIBRARY_ERRORS) as exc:
            self.bad_frame(f"frame error: not an HL7 v2 message ({exc!r})")
            # answered in order with the messages before it, once they are settled
            self._unsettled.append((None, None, "not an HL7 v2 message (no readable MSH)"))
            return []
        if not self._unsettled:  # what to forget if the store refuses what follows
            self._seen_before = dict(self._seen)
        try:
            self.limits.check_size(len(block))
            readings = self._observations(message, msh)
        except MessageRefused as exc:  # nothing of it stored; the sender is told
            self.not_used(str(exc))
            self._acknowledge(message, msh, "AR")
            return []
        except LIBRARY_ERRORS as exc:
            self.bad_frame(f"frame error: malformed ORU^R01 ({exc!r})")
            self._unsettled.append((message, msh, "AE"))  # in order with the others
            return []
        self.counts.frames_ok += 1
        self._unsettled.append((message, msh, ""))  # answered by ``settle``
        return readings

    def _observations(self, message: hl7.Message, msh: hl7.Segment) -> list[Reading]:
        kind = "^".join(_field(msh, 9).split("^")[:2]).strip("^")
        if kind not in OBSERVATION_MESSAGES:  # alarms (R40), waveforms (W01), ADT, ...
            self.not_used(f"message {kind[:20] or 'without a type'}")
            return []  # acknowledged, counted, not read
        sent_at = _hl7_time(_field(msh, 7))
        try:
            segments = message.segments("OBX")
        except KeyError:
            self.not_used(f"{kind[:20]} without observations")
            return []
        self._within_limits(len(segments))
        not_production = _field(msh, 11).split("^")[0].strip()
        readings = [self._obx(obx, sent_at, not_production) for obx in segments]
        return [r for r in readings if r is not None]

    def _within_limits(self, segments: int) -> None:
        """Refuse (``MessageRefused``) a message with too many segments, or over the rate."""
        self.limits.check_segments(segments)
        self.limits.take_readings(segments, self.clock())

    def _obx(
        self, obx: hl7.Segment, sent_at: datetime | None, not_production: str
    ) -> Reading | None:
        observed = _hl7_time(_field(obx, 14)) or sent_at
        fields = [_field(obx, i) for i in range(len(obx))]
        reading, unused = self.observations.read(Obx.of(fields), observed, not_production)
        if unused:
            self.not_used(unused)
        if unused.startswith(DEMO_KIND):  # as loud as an IntelliVue in demo mode
            self.counts.last_error = f"the monitor sends {unused}, not a patient's"
        if reading is None:
            return None
        if self._resent(reading.param, observed, reading.value):
            self.not_used(f"{reading.param.value} resent with the same time (stored once)")
            return None
        return reading

    def _resent(self, param: Param, observed: datetime | None, value: float | None) -> bool:
        """The same value at the same observation time is a resend (a gateway repeating the
        last NIBP); a new value at the same time is a new reading from a stopped clock."""
        if observed is None:
            return False
        if self._seen.get(param) == (observed, value):
            return True
        self._seen[param] = (observed, value)
        return False

    def settle(self, stored: bool) -> None:
        """AA once the messages' readings are committed; AR while the store refuses them,
        and their readings forgotten, so the sender's resend is taken as new."""
        for message, msh, fixed in self._unsettled:
            if message is None:  # a frame without an MSH to answer: ``fixed`` says why
                self._unreadable(fixed)
            else:
                self._acknowledge(message, msh, fixed or ("AA" if stored else "AR"))
        if not stored and self._unsettled:
            self._seen = self._seen_before
        self._unsettled = []

    def _acknowledge(self, message: hl7.Message, msh: hl7.Segment, code: str) -> None:
        mode = _field(msh, 15)
        wanted = (
            mode in ("", "AL") or (mode == "ER" and code != "AA") or (mode == "SU" and code == "AA")
        )
        if not wanted:
            return
        try:
            ack = message.create_ack(code)
        except LIBRARY_ERRORS as exc:  # an MSH too broken to answer
            self.bad_frame(f"frame error: cannot acknowledge, MSH malformed ({exc!r})")
            self._unreadable("MSH segment too malformed to acknowledge")
            return
        self.outbox += frame(str(ack))

    def _unreadable(self, why: str) -> None:
        """AE for a frame whose sender cannot be answered in its own terms (no MSH-10 to
        echo): Chairside's own ACK, MSA-2 empty, the reason in ERR (error code 100, "segment
        sequence error": MSH must come first and be readable; severity E; why in ERR-7)."""
        self._answers += 1
        now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
        self.outbox += frame(
            f"MSH|^~\\&|CHAIRSIDE||||{now}||ACK|CHAIRSIDE-{self._answers}|P|2.6\r"
            f"MSA|AE|\rERR|||100^Segment sequence error^HL70357|E|||{why}\r"
        )


def _field(segment: hl7.Segment, index: int) -> str:
    """A field as text, '' when the segment is shorter (senders omit trailing fields)."""
    return str(segment[index]) if len(segment) > index else ""


def _hl7_time(text: str) -> datetime | None:
    """HL7 DTM with a UTC offset (YYYYMMDDHHMMSS[.S]+ZZZZ) → UTC; without an offset, None."""
    text = text.strip()
    if len(text) < 19 or text[-5] not in "+-":
        return None
    try:
        local = datetime.strptime(text[:14], "%Y%m%d%H%M%S")
        sign = 1 if text[-5] == "+" else -1
        offset = timedelta(hours=int(text[-4:-2]), minutes=int(text[-2:]))
        return local.replace(tzinfo=timezone(sign * offset)).astimezone(UTC)
    except (ValueError, OverflowError):  # no such time, or beyond what a datetime holds
        return None


OUT_CODES = {param: (*MDC[param], UCUM[param]) for param in MDC}  # what the gateway sends
NIBP = (Param.SBP, Param.DBP, Param.MAP)


class Hl7MllpMonitor(StreamingMonitor):
    """A gateway's side for the simulator: pushes an ORU^R01 every interval, reads ACKs."""

    protocol: ClassVar[str] = "hl7-mllp"

    def __init__(self) -> None:
        self.interval_s: int | None = 5
        self.acks = 0
        self._number = 0
        self._nibp: tuple = ()
        self._nibp_time = ""
        self._inbox = bytearray()

    def chair_options(self, interval_s: int) -> dict[str, Any]:
        return {}

    def reset(self) -> None:
        """A restarted gateway pushes again on its own."""

    def feed(self, chunk: bytes) -> bool:
        self._inbox += chunk
        while (end := self._inbox.find(END)) >= 0:
            self.acks += b"MSA|AA" in self._inbox[:end]
            del self._inbox[: end + len(END)]
        return False

    def encode(
        self, time_s: int, values: Mapping[Param, float | None], artifact: str = ""
    ) -> tuple[bytes, dict]:
        """One ORU^R01 with every parameter; NIBP carries the time it was first sent, so a
        receiver stores a resent measurement once (the caller logs it once, too)."""
        self._number += 1
        now = datetime.fromtimestamp(time_s, UTC).strftime("%Y%m%d%H%M%S+0000")
        nibp = tuple(values.get(p) for p in NIBP)
        fresh = nibp != self._nibp
        if fresh:
            self._nibp, self._nibp_time = nibp, now
        segments = [
            f"MSH|^~\\&|SIMMON|CHAIRSIDE|CHAIRSIDE|CLINIC|{now}||ORU^R01^ORU_R01|"
            f"SIM{self._number:08d}|P|2.6|||AL|NE",
            "PID|||SIM",
            f"OBR|1|||182777000^monitoring of patient^SCT|||{now}",
        ]
        sent: dict[Param, float | None] = {}
        for index, (param, (code, name, unit)) in enumerate(OUT_CODES.items(), start=1):
            value = values.get(param)
            observed = self._nibp_time if param in NIBP else now
            text, status = ("", "X") if value is None else (f"{round(value)}", "F")
            segments.append(
                f"OBX|{index}|NM|{code}^{name}^MDC||{text}|{unit}^^UCUM|||||{status}|||{observed}"
            )
            sent[param] = None if value is None else float(round(value))
        return frame("\r".join(segments) + "\r"), sent
