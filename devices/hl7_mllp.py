"""HL7 v2 ORU^R01 observations over MLLP, protocol ``hl7-mllp``: how many monitors and
gateways (Mindray, Philips, GE and others) send vital signs on a network.

Transport: TCP, either ``socket://host:port`` to a gateway that listens or
``listen://host:port`` for a sender that connects to the recorder; or a serial line.
Framing (MLLP): ``0x0B message 0x1C 0x0D``; bytes outside a block are discarded and counted.
Segments may be separated by CR (the standard), LF or CR LF.

Each OBX is mapped by its code (OBX-3) to a parameter: LOINC (8867-4 heart rate, 8889-8
pulse rate, 8480-6/8462-4/8478-0 systolic/diastolic/mean NIBP, 59408-5 and 2708-6 SpO2) and
ISO/IEEE 11073-10101 MDC codes, numeric or named (147842 MDC_ECG_HEART_RATE, 149530
MDC_PULS_OXIM_PULS_RATE, 150456 MDC_PULS_OXIM_SAT_O2, 150021/150022/150023
MDC_PRESS_BLD_NONINV_SYS/DIA/MEAN), plus a per-chair vendor map (option ``codes``).
Units (OBX-6) are converted to canonical ones (kPa → mmHg). OBX-11 result status other than
F/C/R/P, or a value that is not a number, gives quality ``invalid``. OBX-14 (else MSH-7) is
the device time when it carries a UTC offset (a time that cannot be represented, such as
99991231235959-2359, is no device time); the same value with the same observation time (a
gateway resending the last NIBP) is stored once, while a different value at the same time (a
monitor whose clock stands still) is a new reading.

Acknowledgment means stored: the ACK of a message is sent only once the recorder knows whether
its readings are committed (``settle``): AA when they are, AR ("rejected for reasons unrelated
to its content", HL7 v2.6 chapter 2.9.2) while the store refuses writes, so the sender keeps
the message and sends it again. Original mode (no MSH-15) always gets an ACK; enhanced mode
follows MSH-15 (AL always, ER/SU on error/success only, NE never). A message that cannot be
parsed gets AE at once when its MSH can be read, otherwise nothing.

Parsing uses the ``hl7`` package; this module only maps fields. Sources: HL7 v2.6 chapter 7
(ORU^R01, OBX), chapter 2 (MSH, ACK, MLLP in appendix C), IHE PCD-01 (MDC codes in OBX-3).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import hl7

from devices.base import DeviceAdapter, SerialSettings, StreamingMonitor
from vitals.codes import LOINC, MDC, UCUM
from vitals.errors import ConfigError
from vitals.reading import Param, Quality, Reading

START, END = b"\x0b", b"\x1c\x0d"
MAX_MESSAGE = 1 << 20
CODES: dict[str, Param] = (
    {code: param for param, (code, _) in LOINC.items()}
    | {"2708-6": Param.SPO2}  # SpO2 as some gateways code it (arterial O2 saturation)
    | {code: param for param, (code, _) in MDC.items()}
    | {name: param for param, (_, name) in MDC.items()}
)
KPA_TO_MMHG = 7.500616827
UNIT_FACTORS = {"kpa": KPA_TO_MMHG, "268": KPA_TO_MMHG, "mdc_dim_kilo_pascal": KPA_TO_MMHG}
FINAL_STATUSES = {"F", "C", "R", "P", ""}
# What the hl7 package raises on malformed input (found by bench/fuzz_devices.py): it is
# counted as a bad frame, never allowed to stop the worker.
LIBRARY_ERRORS = (IndexError, KeyError, ValueError, TypeError, AttributeError, AssertionError)


def frame(message: str) -> bytes:
    return START + message.encode("utf-8") + END


class Hl7MllpAdapter(DeviceAdapter):
    """Receives ORU^R01 messages, answers with ACKs, maps OBX segments to readings."""

    protocol: ClassVar[str] = "hl7-mllp"
    serial: ClassVar[SerialSettings] = SerialSettings(9600, 8, "N", 1)
    acks_on_commit: ClassVar[bool] = True

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        options = dict(options or {})
        vendor = options.pop("codes", {})
        if options:
            raise ConfigError(f"hl7-mllp: unknown options {sorted(options)}; known: ['codes']")
        self.codes = dict(CODES) | _vendor_codes(vendor)
        self._buffer = bytearray()
        self._seen: dict[Param, tuple[datetime, float | None]] = {}
        self._unsettled: list[tuple[hl7.Message, hl7.Segment, str]] = []
        self._seen_before: dict[Param, tuple[datetime, float | None]] = {}

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
        try:
            message = hl7.parse(text.strip("\r"))
            msh = message.segment("MSH")
        except (hl7.ParseException, *LIBRARY_ERRORS) as exc:
            self.bad_frame(f"frame error: not an HL7 v2 message ({exc!r})")
            return []
        if not self._unsettled:  # what to forget if the store refuses what follows
            self._seen_before = dict(self._seen)
        try:
            readings = self._observations(message, msh)
        except LIBRARY_ERRORS as exc:
            self.bad_frame(f"frame error: malformed ORU^R01 ({exc!r})")
            self._unsettled.append((message, msh, "AE"))  # in order with the others
            return []
        self.counts.frames_ok += 1
        self._unsettled.append((message, msh, ""))  # answered by ``settle``
        return readings

    def _observations(self, message: hl7.Message, msh: hl7.Segment) -> list[Reading]:
        if not _field(msh, 9).startswith("ORU"):
            return []  # other messages are acknowledged and ignored
        sent_at = _hl7_time(_field(msh, 7))
        try:
            segments = message.segments("OBX")
        except KeyError:
            return []  # an ORU without observations
        readings = [self._obx(obx, sent_at) for obx in segments]
        return [r for r in readings if r is not None]

    def _obx(self, obx: hl7.Segment, sent_at: datetime | None) -> Reading | None:
        code = _component(obx, 3, 0)
        param = self.codes.get(code) or self.codes.get(_component(obx, 3, 1))
        if param is None:
            return None  # an observation Chairside does not record (temperature, ...)
        observed = _hl7_time(_field(obx, 14)) or sent_at
        try:
            factor = UNIT_FACTORS.get(_component(obx, 6, 0).lower(), 1.0)
            value: float | None = round(float(_field(obx, 5)) * factor, 2)
        except ValueError:
            value = None
        if self._resent(param, observed, value):
            return None
        if value is None:
            return Reading(param, None, Quality.INVALID, observed)
        quality = Quality.OK if _field(obx, 11) in FINAL_STATUSES else Quality.INVALID
        return Reading(param, value, quality, observed)

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
            return
        self.outbox += frame(str(ack))


def _field(segment: hl7.Segment, index: int) -> str:
    """A field as text, '' when the segment is shorter (senders omit trailing fields)."""
    return str(segment[index]) if len(segment) > index else ""


def _component(segment: hl7.Segment, index: int, component: int) -> str:
    if len(segment) <= index:
        return ""
    parts = str(segment[index]).split("^")
    return parts[component].strip() if len(parts) > component else ""


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


def _vendor_codes(vendor: Any) -> dict[str, Param]:
    if not isinstance(vendor, dict):
        raise ConfigError(f"hl7-mllp: codes must be a table of code = parameter, got {vendor!r}")
    try:
        return {str(code): Param(param) for code, param in vendor.items()}
    except ValueError as exc:
        raise ConfigError(
            f"hl7-mllp: {exc}; parameters: {', '.join(p.value for p in Param)}"
        ) from None


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
