"""Masimo Radical-7 / Rad-97 / Rad-8 serial ASCII output ("ASCII 1"), protocol ``masimo-ascii``.

Port: RS-232 9600 baud 8N1, no flow control. The oximeter sends one text line per second on
its own (no request), ended by CR LF, e.g.::

    03/17/16 19:19:36 SN=0000070986 SPO2=098% BPM=072 PI=02.41 SPCO=--.-% SPMET=--.-%
    DESAT=-- PIDELTA=+-- PVI=--- ALARM=000000 EXC=000800

(one line on the wire). Fields are KEY=VALUE separated by spaces; ``---`` means no value.
EXC is a hexadecimal exception mask: 001 no sensor, 002 defective sensor, 004 low
perfusion, 008 pulse search, 010 interference, 020 sensor off, 040 ambient light, 080
unrecognised sensor, 400 low signal IQ, 800 "Masimo SET" (normal full-SET operation, not an
exception). Any exception other than low perfusion makes SpO2 and pulse ``invalid``; low
perfusion alone makes them ``artifact``. There is no blood pressure: pair the oximeter with
an NIBP monitor on the same chair. Other fields that carry a value (PI, SpCO, SpMet, PVI)
are counted as received but not used; blank lines are skipped.

The leading date and time are the device's local clock without a time zone; they are not
used as device time (a wrong offset would be worse than none).

Sources: Masimo Radical-7 and Rad-8 operator's manuals (serial ASCII 1 trend output and its
exception codes), as described by public implementations (remkolems/masimo-datacapture,
the MD PnP Radical-7 driver).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from devices.base import DeviceAdapter, SerialSettings, StreamingMonitor
from vitals.errors import ConfigError
from vitals.reading import Param, Quality, Reading

MAX_LINE = 512
FIELDS: dict[str, Param] = {"SPO2": Param.SPO2, "BPM": Param.PULSE}
# Fields read for the quality or that identify the line; every other field with a value
# (PI, SpCO, SpMet, PVI, ...) is counted as received but not used.
READ_FIELDS = {*FIELDS, "EXC", "EXC1", "ALARM", "SN"}
EXC_LOW_PERFUSION = 0x004
EXC_INTERFERENCE = 0x010
EXC_SENSOR_OFF = 0x020
EXC_SET_MODE = 0x800
EXC_INVALID = 0x001 | 0x002 | 0x008 | 0x010 | 0x020 | 0x040 | 0x080 | 0x400


def encode_line(
    time_text: str, spo2: float | None, pulse: float | None, exceptions: int = EXC_SET_MODE
) -> bytes:
    """One line as the oximeter prints it (the simulator's side of the wire)."""
    spo2_text = "---" if spo2 is None else f"{round(spo2):03d}"
    pulse_text = "---" if pulse is None else f"{round(pulse):03d}"
    return (
        f"{time_text} SN=0000070986 SPO2={spo2_text}% BPM={pulse_text} PI=02.41 SPCO=--.-% "
        f"SPMET=--.-% DESAT=-- PIDELTA=+-- PVI=--- ALARM=000000 EXC={exceptions:06X}\r\n"
    ).encode("ascii")


def parse_line(line: str) -> dict[str, str]:
    """KEY=VALUE fields of one line; ValueError names what is missing."""
    fields = dict(token.split("=", 1) for token in line.split() if "=" in token)
    missing = [key for key in (*FIELDS, "EXC") if key not in fields]
    if missing:
        raise ValueError(f"line lacks {', '.join(missing)}: {line[:60]!r}")
    return fields


def quality_of(exceptions: int) -> Quality:
    if exceptions & EXC_INVALID:
        return Quality.INVALID
    if exceptions & EXC_LOW_PERFUSION:
        return Quality.ARTIFACT
    return Quality.OK


class MasimoAsciiAdapter(DeviceAdapter):
    """Reads the oximeter's 1 Hz lines; nothing is ever sent to it."""

    protocol: ClassVar[str] = "masimo-ascii"
    serial: ClassVar[SerialSettings] = SerialSettings(9600, 8, "N", 1)

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        if options:
            raise ConfigError(f"masimo-ascii: takes no options, got {sorted(options)}")
        self._buffer = bytearray()

    def on_connect(self) -> bytes:
        self._buffer.clear()
        return b""

    def on_silence(self) -> bytes:
        return b""

    def feed(self, chunk: bytes) -> list[Reading]:
        readings: list[Reading] = []
        self._buffer += chunk
        while (end := self._buffer.find(b"\n")) >= 0:
            line, self._buffer = bytes(self._buffer[:end]), self._buffer[end + 1 :]
            readings += self._line(line)
        if len(self._buffer) > MAX_LINE:
            self.bad_frame(f"frame error: {len(self._buffer)} bytes without a line end")
            self._buffer.clear()
        return readings

    def _line(self, raw: bytes) -> list[Reading]:
        if not raw.strip():
            return []  # the blank line between records some models print carries nothing
        try:
            fields = parse_line(raw.decode("ascii").strip())
            exceptions = int(fields["EXC"], 16)
            values = {param: _number(fields[key]) for key, param in FIELDS.items()}
        except (UnicodeDecodeError, ValueError) as exc:
            self.bad_frame(f"frame error: {exc}")
            return []
        self.counts.frames_ok += 1
        for key, value in fields.items():
            if key not in READ_FIELDS and _number_or_none(value) is not None:
                self.not_used(f"field {key[:20]}")
        quality = quality_of(exceptions)
        return [
            Reading(param, value, Quality.INVALID if value is None else quality)
            for param, value in values.items()
        ]


def _number_or_none(text: str) -> float | None:
    """A field's number, or None when it holds none (dashes or text)."""
    try:
        return float(text.rstrip("%"))
    except ValueError:
        return None


def _number(text: str) -> float | None:
    """``098%`` → 98.0; ``---`` (no value) → None; anything else is a frame error."""
    text = text.rstrip("%")
    if set(text) <= {"-", "."}:
        return None
    if not text.isdigit():
        raise ValueError(f"value {text!r} is not a number")
    return float(int(text))


class MasimoAsciiMonitor(StreamingMonitor):
    """The oximeter's side for the simulator: it streams every second without being asked."""

    protocol: ClassVar[str] = "masimo-ascii"

    def __init__(self) -> None:
        self.interval_s: int | None = 1

    def chair_options(self, interval_s: int) -> dict[str, Any]:
        return {}

    def reset(self) -> None:
        """A power cycle: the oximeter resumes streaming on its own."""

    def feed(self, chunk: bytes) -> bool:
        return False  # it listens to nobody

    def encode(
        self, time_s: int, values: Mapping[Param, float | None], artifact: str = ""
    ) -> tuple[bytes, dict]:
        """One line, flagged as the oximeter would flag the patient's artifact."""
        stamp = datetime.fromtimestamp(time_s, UTC).strftime("%m/%d/%y %H:%M:%S")
        spo2, pulse = values.get(Param.SPO2), values.get(Param.PULSE)
        exceptions = EXC_SET_MODE
        if artifact == "motion":
            exceptions |= EXC_INTERFERENCE
        elif artifact == "lead-off":
            exceptions, spo2, pulse = EXC_SENSOR_OFF, None, None
        sent = {
            Param.SPO2: None if spo2 is None else float(round(spo2)),
            Param.PULSE: None if pulse is None else float(round(pulse)),
        }
        return encode_line(stamp, spo2, pulse, exceptions), sent
