"""GE Datex-Ohmeda S/5 Computer Interface (DRI, "Datex Record Interface"), protocol ``ge-s5``.

Port: RS-232 19200 baud, 8 data bits, even parity, 1 stop bit, RTS/CTS flow control.

Frames: ``0x7E record checksum 0x7E``. Inside a frame 0x7E and 0x7D are sent as 0x7D followed
by the byte XOR 0x20. The checksum is the 8-bit sum of the unescaped record bytes.

Record: a 40-byte little-endian header (r_len int16, r_nbr u8, dri_level u8, plug_id u16,
r_time u32 Unix seconds, 4 reserved bytes, r_maintype int16, then 8 subrecord descriptors of
offset int16 + type u8, the list ended by type 0xFF) followed by the subrecords; offsets count
from the end of the header. Main type 0 is the physiological database (PHDB).

Client request: a PHDB record with one subrecord of type 0 holding phdb_rcrd_type u8
(1 = displayed values), tx_interval int16 (seconds), phdb_class_bf u32 (0 = basic class only)
and 2 reserved bytes. The monitor then streams display records every tx_interval seconds.

Display subrecord (type 1), 278 bytes: time u32, one 270-byte class block, marker u8,
reserved u8, cl_drilvl_subt u16 whose bits 8-11 name the class (0 = basic). In the basic
class each group starts with a 6-byte header (status u32, label u16); values are int16:
ECG HR at 6 (1/min), NIBP sys/dia/mean at 78/80/82 (0.01 mmHg), SpO2 at 124 (0.01 %) and
its pulse rate at 126 (1/min). Values below -32001 are markers (no data, not updated, out of
range, ...) and become quality ``invalid`` with no value.

The display record repeats the last NIBP result in every record and carries no time of
measurement, so a new NIBP measurement is recognised when the sys/dia/mean triple changes;
two consecutive identical results are therefore stored once (a limit of the interface).

Waveform, alarm and network records, trend subrecords and extended classes are valid but
not read; each is counted by kind in ``counts.unused``.

Sources: Datex-Ohmeda "S/5 Computer Interface Specification" (document 8005313) as described
by public implementations (xeonfusion/VSCapture, VSCaptureWave); checked against a real
capture from an S/5 (see tests/devices/test_ge_s5_capture.py).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from devices.base import DeviceAdapter, SerialSettings, StreamingMonitor
from devices.framing import FRAMING_ERROR, EscapedFramer, escape
from vitals.errors import ConfigError
from vitals.reading import Param, Quality, Reading

FLAG = 0x7E
ESCAPE = 0x7D
SPECIALS = frozenset((FLAG, ESCAPE))
MAX_FRAME = 1490 + 1  # largest DRI record plus checksum

HEADER = struct.Struct("<hBBHIBBHh")  # up to r_maintype; descriptors follow
HEADER_SIZE = 40
DESCRIPTOR = struct.Struct("<hB")
DESCRIPTORS = 8
END_OF_LIST = 0xFF

MT_PHDB = 0
SR_REQUEST = 0
SR_DISPLAY = 1
PHDB_DISPLAY = 1
CLASS_BASIC = 0
# What else a monitor sends, named for the count of what was received but not used
MAINTYPES = {1: "waveform record", 4: "alarm record", 5: "network record"}
SUBRECORDS = {2: "10 s trend subrecord", 3: "60 s trend subrecord", 4: "auxiliary subrecord"}

REQUEST = struct.Struct("<BhIh")
SUBRECORD_SIZE = 278
CLASS_OFFSET = 4  # after the subrecord's time
TRAILER = struct.Struct("<BBH")  # marker, reserved, cl_drilvl_subt
TRAILER_OFFSET = CLASS_OFFSET + 270

INVALID_LIMIT = -32001
NO_DATA = -32767

# Where each parameter sits in the basic class, and its scale to canonical units.
BASIC_FIELDS: dict[Param, tuple[int, float]] = {
    Param.HR: (6, 1.0),
    Param.SBP: (78, 0.01),
    Param.DBP: (80, 0.01),
    Param.MAP: (82, 0.01),
    Param.SPO2: (124, 0.01),
    Param.PULSE: (126, 1.0),
}
NIBP = (Param.SBP, Param.DBP, Param.MAP)


def checksum(record: bytes) -> int:
    return sum(record) & 0xFF


def encode_frame(record: bytes) -> bytes:
    return (
        bytes((FLAG,))
        + escape(record + bytes((checksum(record),)), SPECIALS, ESCAPE)
        + bytes((FLAG,))
    )


def header(length: int, number: int, time_s: int, descriptors: list[tuple[int, int]]) -> bytes:
    padded = descriptors + [(0, END_OF_LIST)] * (DESCRIPTORS - len(descriptors))
    head = HEADER.pack(length, number & 0xFF, 0, 0, time_s & 0xFFFFFFFF, 0, 0, 0, MT_PHDB)
    return head + b"".join(DESCRIPTOR.pack(offset, kind) for offset, kind in padded)


def request_record(interval_s: int) -> bytes:
    """The client's display-data request; interval 0 asks the monitor to stop sending."""
    body = REQUEST.pack(PHDB_DISPLAY, interval_s, 0, 0)
    return header(HEADER_SIZE + len(body), 0, 0, [(0, SR_REQUEST)]) + body


def raw_value(value: float | None, scale: float) -> int:
    """The int16 a monitor sends for ``value``; None is the no-data marker."""
    if value is None:
        return NO_DATA
    return max(-32000, min(32767, round(value / scale)))


def display_record(number: int, time_s: int, values: Mapping[Param, float | None]) -> bytes:
    """A display record with one basic-class subrecord, as the monitor streams it."""
    block = bytearray(270)
    for offset in range(6, 270, 2):
        struct.pack_into("<h", block, offset, NO_DATA)  # every field "no data" unless given
    for param, (offset, scale) in BASIC_FIELDS.items():
        struct.pack_into("<h", block, offset, raw_value(values.get(param), scale))
    sub = struct.pack("<I", time_s) + bytes(block) + TRAILER.pack(0, 0, (CLASS_BASIC << 8) | 0xB1)
    return header(HEADER_SIZE + len(sub), number, time_s, [(0, SR_DISPLAY)]) + sub


@dataclass(frozen=True)
class Record:
    number: int
    time_s: int
    maintype: int
    subrecords: list[tuple[int, bytes]]


def parse_record(record: bytes) -> Record:
    """Split a checked record into its subrecords; ValueError names what is inconsistent."""
    if len(record) < HEADER_SIZE:
        raise ValueError(
            f"record of {len(record)} bytes is shorter than the {HEADER_SIZE}-byte header"
        )
    length, number, _level, _plug, time_s, _r1, _r2, _r3, maintype = HEADER.unpack_from(record)
    if length != len(record):
        raise ValueError(f"header says {length} bytes but the frame holds {len(record)}")
    subrecords = []
    for i in range(DESCRIPTORS):
        offset, kind = DESCRIPTOR.unpack_from(record, HEADER.size + i * DESCRIPTOR.size)
        if kind == END_OF_LIST:
            break
        start = HEADER_SIZE + offset
        if offset < 0 or start > len(record):
            raise ValueError(f"subrecord {i} offset {offset} lies outside the record")
        subrecords.append((kind, record[start:]))
    return Record(number, time_s, maintype, subrecords)


class GeS5Adapter(DeviceAdapter):
    """Client side of the S/5 interface: requests display data and decodes the stream."""

    protocol: ClassVar[str] = "ge-s5"
    serial: ClassVar[SerialSettings] = SerialSettings(19200, 8, "E", 1, rtscts=True)

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.interval_s = _interval(dict(options or {}))
        self._framer = EscapedFramer(FLAG, FLAG, ESCAPE, MAX_FRAME)
        self._last_nibp: tuple[int, ...] | None = None

    def on_connect(self) -> bytes:
        self._framer.reset()
        return encode_frame(request_record(self.interval_s))

    def prime(self, last_values: Mapping[str, float | None]) -> None:
        if all(p.value in last_values for p in NIBP):
            self._last_nibp = tuple(
                raw_value(last_values[p.value], BASIC_FIELDS[p][1]) for p in NIBP
            )

    def feed(self, chunk: bytes) -> list[Reading]:
        readings = [r for frame in self._framer.feed(chunk) for r in self._frame(frame)]
        for _ in range(self._framer.take_bad()):
            self.bad_frame(FRAMING_ERROR)
        return readings

    def _frame(self, frame: bytes) -> list[Reading]:
        if len(frame) < 2:
            self.bad_frame(f"frame error: {len(frame)}-byte frame is too short")
            return []
        record, sent = frame[:-1], frame[-1]
        if checksum(record) != sent:
            self.bad_frame(
                f"checksum error: frame says 0x{sent:02X}, contents sum to 0x{checksum(record):02X}"
            )
            return []
        try:
            parsed = parse_record(record)
        except (ValueError, struct.error) as exc:
            self.bad_frame(f"frame error: {exc}")
            return []
        self.counts.frames_ok += 1
        if parsed.maintype != MT_PHDB:
            self.not_used(MAINTYPES.get(parsed.maintype, f"record of type {parsed.maintype}"))
            return []
        readings = []
        for kind, data in parsed.subrecords:
            if kind == SR_DISPLAY and len(data) >= SUBRECORD_SIZE:
                readings.extend(self._display(data))
            elif kind == SR_DISPLAY:
                self.not_used(f"display subrecord shorter than {SUBRECORD_SIZE} bytes")
            else:
                self.not_used(SUBRECORDS.get(kind, f"physiological subrecord of type {kind}"))
        return readings

    def _display(self, sub: bytes) -> list[Reading]:
        (time_s,) = struct.unpack_from("<I", sub)
        (_marker, _reserved, class_bits) = TRAILER.unpack_from(sub, TRAILER_OFFSET)
        if (class_bits >> 8) & 0x0F != CLASS_BASIC:
            self.not_used(f"display subrecord of extended class {(class_bits >> 8) & 0x0F}")
            return []
        device_time = datetime.fromtimestamp(time_s, UTC)
        raw = {
            p: struct.unpack_from("<h", sub, CLASS_OFFSET + offset)[0]
            for p, (offset, _scale) in BASIC_FIELDS.items()
        }
        nibp = tuple(raw[p] for p in NIBP)
        fresh_nibp = nibp != self._last_nibp
        self._last_nibp = nibp
        return [
            _reading(p, raw[p], BASIC_FIELDS[p][1], device_time)
            for p in BASIC_FIELDS
            if p not in NIBP or fresh_nibp
        ]


def _reading(param: Param, raw: int, scale: float, device_time: datetime) -> Reading:
    if raw < INVALID_LIMIT:
        return Reading(param, None, Quality.INVALID, device_time)
    return Reading(param, round(raw * scale, 2), Quality.OK, device_time)


def _interval(options: dict[str, Any]) -> int:
    interval = options.pop("interval_s", 5)
    if options:
        raise ConfigError(f"ge-s5: unknown options {sorted(options)}; known: ['interval_s']")
    if not isinstance(interval, int) or not 1 <= interval <= 3600:
        raise ConfigError(f"ge-s5: interval_s must be whole seconds 1-3600, got {interval!r}")
    return interval


class GeS5Monitor(StreamingMonitor):
    """Monitor side of the interface, for the simulator: answers requests, encodes records."""

    protocol: ClassVar[str] = "ge-s5"

    def __init__(self) -> None:
        self._framer = EscapedFramer(FLAG, FLAG, ESCAPE, MAX_FRAME)
        self._number = 0
        self.interval_s: int | None = None

    def chair_options(self, interval_s: int) -> dict[str, Any]:
        """What a chair config must say for the recorder to ask this monitor the same."""
        return {"interval_s": interval_s}

    def reset(self) -> None:
        """A power cycle: the monitor forgets the client's request and falls silent."""
        self.interval_s = None

    def feed(self, chunk: bytes) -> bool:
        """Take client bytes; True when a request (re)configured the stream."""
        changed = False
        for frame in self._framer.feed(chunk):
            interval = _requested_interval(frame)
            if interval is not None:
                self.interval_s = interval or None
                changed = True
        return changed

    def encode(
        self, time_s: int, values: Mapping[Param, float | None], artifact: str = ""
    ) -> tuple[bytes, dict]:
        """One display frame and the values as the client will decode them.

        The DRI display record has no artifact flag: an artifact reaches the wire as values.
        """
        self._number += 1
        record = display_record(self._number, time_s, values)
        sent = {}
        for param, value in values.items():
            scale = BASIC_FIELDS[param][1]
            raw = raw_value(value, scale)
            sent[param] = None if raw < INVALID_LIMIT else round(raw * scale, 2)
        return encode_frame(record), sent


def _requested_interval(frame: bytes) -> int | None:
    if len(frame) < 2 or checksum(frame[:-1]) != frame[-1]:
        return None
    try:
        parsed = parse_record(frame[:-1])
    except (ValueError, struct.error):
        return None
    for kind, data in parsed.subrecords:
        if kind == SR_REQUEST and len(data) >= REQUEST.size:
            record_type, interval, _classes, _reserved = REQUEST.unpack_from(data)
            if record_type == PHDB_DISPLAY and interval >= 0:
                return interval
    return None
