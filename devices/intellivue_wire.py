"""Philips IntelliVue Data Export over MIB/RS232: the bytes, for both ends of the line.

Frame: ``0xC0 | header | user data | FCS | 0xC1``. The 4-byte header is the protocol id
0x11, the message type 0x01 and the user data's length (u16 big-endian). The FCS is the
CRC-16/X-25 (the PPP frame check sequence of RFC 1662: reflected polynomial 0x8408, initial
0xFFFF, ones' complement) over the header and user data as they are before escaping, sent
low byte first. Between the two flags, 0xC0, 0xC1 and 0x7D are sent as 0x7D followed by the
byte XOR 0x20 — the header and the FCS included.

User data is one session-layer message. Its first byte says which: 0x0D association request,
0x0E association result (accepted), 0x0C refused, 0x09 release request, 0x0A release result,
0x19 abort, 0xE1 a data export message. The association messages carry a fixed ASN.1
presentation wrapping around the MDSE user information (protocol and nomenclature version,
system type, the polling profile). A data export message is: session header (0xE100, context
2), remote operation header (type, length), then an invoke (ROIV), a result (RORS), a linked
result (ROLRS) or an error (ROER). Integers are big-endian throughout.

Numerics come in poll results: a list of contexts, each a list of objects, each a list of
attributes. A numeric's value is NuObsValue (physio id, measurement state, unit code, FLOAT-
Type); NIBP is a compound of three. FLOAT-Type is a signed 8-bit base-10 exponent above a
signed 24-bit mantissa; mantissas 0x7FFFFF (NaN), 0x800000 (NRes, not at this resolution),
0x7FFFFE and 0x800002 (+/- infinity) are no value.

Sources: Philips "Data Export Interface Programming Guide" (IntelliVue patient monitors,
MIB/RS232 and LAN), as used by public implementations (xeonfusion/VSCaptureMP; the OpenICE
project's IntelliVue driver, mdpnp/mdpnp). The published checksum vectors
``C0 3A 71 9B 26 C1`` and ``C0 3A 91 95 7D E1 C1`` are checked in the tests.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from devices.framing import escape
from vitals.errors import ChecksumError, FrameError

BOF, EOF, ESC = 0xC0, 0xC1, 0x7D
SPECIALS = frozenset((BOF, EOF, ESC))
PROTOCOL_ID, MESSAGE_TYPE = 0x11, 0x01
HEADER = struct.Struct(">BBH")
MAX_USER_DATA = 8192  # far above the monitor's largest message on the serial port

# Session layer (SPDU identifiers)
ASSOC_REQUEST, ASSOC_ACCEPT, ASSOC_REFUSE = 0x0D, 0x0E, 0x0C
RELEASE_REQUEST, RELEASE_RESULT, ABORT, DATA_EXPORT = 0x09, 0x0A, 0x19, 0xE1

# Remote operations
ROIV, RORS, ROER, ROLRS = 1, 2, 3, 5
CMD_EVENT_REPORT, CMD_CONFIRMED_EVENT_REPORT, CMD_CONFIRMED_ACTION = 0, 1, 7
NOM_NOTI_MDS_CREAT = 0x0D06
NOM_ACT_POLL_MDIB_DATA = 0x0C16
NOM_ACT_POLL_MDIB_DATA_EXT = 0xF13B  # extended poll: the reply adds a sequence number
POLL_ACTIONS = (NOM_ACT_POLL_MDIB_DATA, NOM_ACT_POLL_MDIB_DATA_EXT)
NOM_PART_OBJ = 1
NOM_MOC_VMO_METRIC_NU = 0x0006
NOM_MOC_VMS_MDS = 0x0021

# Attributes
NOM_ATTR_ID_HANDLE = 0x0921
NOM_ATTR_NU_CMPD_VAL_OBS = 0x094B
NOM_ATTR_NU_VAL_OBS = 0x0950
NOM_ATTR_TIME_ABS = 0x0987
NOM_ATTR_TIME_REL = 0x098F

# Measurement state bits (MeasurementState)
INVALID, QUESTIONABLE, UNAVAILABLE = 0x8000, 0x4000, 0x2000
TEST_DATA, DEMO_DATA = 0x0800, 0x0400

NO_VALUE = {0x7FFFFF: "NaN", 0x800000: "NRes", 0x7FFFFE: "+INF", 0x800002: "-INF"}
NAN = 0x007FFFFF

SESSION_DATA = bytes.fromhex("05 08 13 01 00 16 01 02 80 00 14 02 00 02")
# The ASN.1 presentation wrapping of the association request and result, fixed by the guide.
AARQ_PRESENTATION = bytes.fromhex(
    "31 80 a0 80 80 01 01 00 00 a2 80 a0 03 00 00 01 a4 80 30 80 02 01 01 06 "
    "04 52 01 00 01 30 80 06 02 51 01 00 00 00 00 30 80 02 01 02 06 0c 2a 86 "
    "48 ce 14 02 01 00 00 00 01 01 30 80 06 0c 2a 86 48 ce 14 02 01 00 00 00 "
    "02 01 00 00 00 00 00 00 61 80 30 80 02 01 01 a0 80 60 80 a1 80 06 0c 2a "
    "86 48 ce 14 02 01 00 00 00 03 01 00 00 be 80 28 80 06 0c 2a 86 48 ce 14 "
    "02 01 00 00 00 01 01 02 01 02"
)
AARE_PRESENTATION = bytes.fromhex(
    "31 80 a0 80 80 01 01 00 00 a2 80 a0 03 00 00 01 a5 80 30 80 80 01 00 81 "
    "02 51 01 00 00 30 80 80 01 00 81 0c 2a 86 48 ce 14 02 01 00 00 00 02 01 "
    "00 00 00 00 61 80 30 80 02 01 01 a0 80 61 80 a1 80 06 0c 2a 86 48 ce 14 "
    "02 01 00 00 00 03 01 00 00 a2 03 02 01 00 a3 05 a1 03 02 01 00 be 80 28 "
    "80 02 01 02"
)
PRESENTATION_TRAILER = bytes(16)
RELEASE_PRESENTATION = {  # release request (0x62) and release result (0x63)
    RELEASE_REQUEST: bytes.fromhex("61 80 30 80 02 01 01 a0 80 62 80 80 01 00 00 00 00 00"),
    RELEASE_RESULT: bytes.fromhex("61 80 30 80 02 01 01 a0 80 63 80 80 01 00 00 00 00 00"),
}
ABORT_BODY = bytes.fromhex(
    "11 01 03 c1 29 a0 80 a0 80 30 80 02 01 01 06 02 51 01 00 00 00 00 61 80 "
    "30 80 02 01 01 a0 80 64 80 80 01 01 00 00 00 00 00 00 00 00 00 00"
)

# MDSEUserInfoStd values
MDDL_VERSION1, NOMEN_VERSION = 0x80000000, 0x40000000
SYST_CLIENT, SYST_SERVER, COLD_START = 0x80000000, 0x00800000, 0x20000000
NOM_POLL_PROFILE_SUPPORT, NOM_ATTR_POLL_PROFILE_EXT = 0x0001, 0xF001
POLL_PROFILE_REV_0 = 0x80000000
P_OPT_DYN_CREATE_OBJECTS, P_OPT_DYN_DELETE_OBJECTS = 0x40000000, 0x20000000
POLL_EXT_PERIOD_NU_1SEC, POLL_EXT_PERIOD_RTSA, POLL_EXT_ENUM = 0x80000000, 0x08000000, 0x04000000
TICKS_PER_S = 8000  # RelativeTime counts 1/8 ms


def _fcs_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


FCS_TABLE = _fcs_table()


def fcs(data: bytes) -> int:
    """CRC-16/X-25 of ``data``: the value sent after the user data, low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ FCS_TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def frame(user_data: bytes) -> bytes:
    """The bytes on the wire for one message."""
    body = HEADER.pack(PROTOCOL_ID, MESSAGE_TYPE, len(user_data)) + user_data
    return (
        bytes((BOF,)) + escape(body + struct.pack("<H", fcs(body)), SPECIALS, ESC) + bytes((EOF,))
    )


def unframe(content: bytes) -> bytes:
    """The user data of an unescaped frame content; FrameError says what is wrong."""
    if len(content) < HEADER.size + 2:
        raise FrameError(f"frame of {len(content)} bytes is shorter than header and checksum")
    body, (sent,) = content[:-2], struct.unpack("<H", content[-2:])
    if fcs(body) != sent:
        raise ChecksumError(
            f"checksum error: frame says 0x{sent:04X}, contents give 0x{fcs(body):04X}"
        )
    protocol, kind, length = HEADER.unpack_from(body)
    if (protocol, kind) != (PROTOCOL_ID, MESSAGE_TYPE):
        raise FrameError(f"header 0x{protocol:02X} 0x{kind:02X} is not a data export frame")
    if length != len(body) - HEADER.size:
        raise FrameError(f"header says {length} bytes of data, the frame holds {len(body) - 4}")
    return body[HEADER.size :]


# -- values -------------------------------------------------------------------------------


def float_type(value: float | None) -> int:
    """FLOAT-Type of ``value`` with the fewest decimals (up to two) that hold it; None is NaN."""
    if value is None:
        return NAN
    exponent = next((e for e in (0, -1) if abs(round(value * 10**-e) * 10**e - value) < 1e-9), -2)
    mantissa = round(value * 10**-exponent)
    return ((exponent & 0xFF) << 24) | (mantissa & 0xFFFFFF)


def float_value(raw: int) -> float | None:
    """The number a FLOAT-Type holds, or None for NaN, NRes and the infinities."""
    mantissa = raw & 0xFFFFFF
    if mantissa in NO_VALUE:
        return None
    if mantissa & 0x800000:
        mantissa -= 0x1000000
    exponent = (raw >> 24) & 0xFF
    if exponent & 0x80:
        exponent -= 0x100
    return round(mantissa * 10.0**exponent, max(0, -exponent))


def bcd_time(moment: datetime) -> bytes:
    """AbsoluteTime: century, year, month, day, hour, minute, second, 1/100 s, each BCD."""
    fields = (
        moment.year // 100,
        moment.year % 100,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 10_000,
    )
    return bytes((f // 10) << 4 | f % 10 for f in fields)


def time_of_bcd(raw: bytes) -> datetime | None:
    """The AbsoluteTime as the monitor's wall clock shows it (local time, no zone), or None
    when the monitor does not set it."""
    digits = []
    for byte in raw:
        high, low = byte >> 4, byte & 0x0F
        if high > 9 or low > 9:
            return None  # 0xFF fill: the monitor keeps no absolute time here
        digits.append(high * 10 + low)
    century, year, month, day, hour, minute, second, hundredths = digits
    try:
        return datetime(century * 100 + year, month, day, hour, minute, second, hundredths * 10_000)
    except ValueError:
        return None


# -- reading ------------------------------------------------------------------------------


class Cursor:
    """Reads big-endian fields off a message; running short is FrameError, never IndexError."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.at, self.what = data, 0, what

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise FrameError(f"{self.what}: needs {size} bytes at {self.at}, has {self.left}")
        part = self.data[self.at : self.at + size]
        self.at += size
        return part

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    @property
    def left(self) -> int:
        return len(self.data) - self.at

    def sub(self, size: int, what: str) -> Cursor:
        return Cursor(self.take(size), what)


@dataclass(frozen=True)
class Operation:
    """The remote operation a data export message carries."""

    kind: int  # ROIV, RORS, ROLRS, ROER
    invoke_id: int
    command: int  # command type, or the error value of an ROER
    body: bytes


def operation(user_data: bytes) -> Operation:
    """Split a data export message (first byte 0xE1) into its remote operation."""
    cursor = Cursor(user_data, "data export message")
    session, _context = cursor.u16(), cursor.u16()
    if session != 0xE100:
        raise FrameError(f"session id 0x{session:04X} is not 0xE100")
    kind, length = cursor.u16(), cursor.u16()
    if length != cursor.left:
        raise FrameError(f"remote operation says {length} bytes, {cursor.left} follow")
    if kind == ROLRS:
        cursor.take(2)  # linked id: state and count
    elif kind not in (ROIV, RORS, ROER):
        raise FrameError(f"unknown remote operation type {kind}")
    invoke_id, command, length = cursor.u16(), cursor.u16(), cursor.u16()
    if length != cursor.left:
        raise FrameError(f"operation says {length} bytes, {cursor.left} follow")
    return Operation(kind, invoke_id, command, cursor.take(cursor.left))


def event_type(body: bytes) -> int:
    """The event type of an event report argument (managed object, time, type, length)."""
    cursor = Cursor(body, "event report")
    cursor.take(6 + 4)
    return cursor.u16()


@dataclass(frozen=True)
class NuObs:
    """One numeric observation as the monitor sent it."""

    physio_id: int
    state: int
    unit: int
    raw: int


@dataclass(frozen=True)
class PollReply:
    poll_number: int
    object_code: int
    time: datetime | None
    observations: list[NuObs]
    extended: bool = False  # an answer to the extended poll action


def action_type(body: bytes) -> int:
    """The action type of an action result (managed object, action type, length)."""
    cursor = Cursor(body, "action result")
    cursor.take(6)
    return cursor.u16()


def poll_reply(body: bytes) -> PollReply:
    """The numerics of a poll result (the body of an RORS or ROLRS confirmed action).

    Plain and extended poll results differ only in the sequence number the extended one
    carries after the poll number (PollMdibDataReplyExt); both are read the same way.
    """
    cursor = Cursor(body, "poll result")
    cursor.take(6)  # managed object
    action, length = cursor.u16(), cursor.u16()
    if action not in POLL_ACTIONS:
        raise FrameError(f"action 0x{action:04X} is not a poll")
    if length != cursor.left:
        raise FrameError(f"poll result says {length} bytes, {cursor.left} follow")
    poll_number = cursor.u16()
    extended = action == NOM_ACT_POLL_MDIB_DATA_EXT
    if extended:
        cursor.u16()  # sequence number of this reply within the extended poll
    cursor.u32()  # relative time
    moment = time_of_bcd(cursor.take(8))
    _partition, code, _group = cursor.u16(), cursor.u16(), cursor.u16()
    observations: list[NuObs] = []
    contexts = _list(cursor, "poll info list")
    for _ in range(contexts[0]):
        context = contexts[1]
        context.u16()  # context id
        objects = _list(context, "context")
        for _ in range(objects[0]):
            item = objects[1]
            item.u16()  # object handle
            count, attributes = _list(item, "attribute list")
            for _ in range(count):
                observations.extend(_attribute(attributes))
            _done(attributes)
        _done(objects[1])
    _done(contexts[1])
    return PollReply(poll_number, code, moment, observations, extended)


def _list(cursor: Cursor, what: str) -> tuple[int, Cursor]:
    count, length = cursor.u16(), cursor.u16()
    return count, cursor.sub(length, what)


def _done(cursor: Cursor) -> None:
    if cursor.left:
        raise FrameError(f"{cursor.what}: {cursor.left} bytes beyond its entries")


def _attribute(cursor: Cursor) -> list[NuObs]:
    attribute, length = cursor.u16(), cursor.u16()
    value = cursor.sub(length, f"attribute 0x{attribute:04X}")
    if attribute == NOM_ATTR_NU_VAL_OBS:
        return [_nu_obs(value)]
    if attribute == NOM_ATTR_NU_CMPD_VAL_OBS:
        count, items = _list(value, "compound value")
        found = [_nu_obs(items) for _ in range(count)]
        _done(items)
        return found
    return []  # labels, handles, specifications: not needed for the values


def _nu_obs(cursor: Cursor) -> NuObs:
    return NuObs(cursor.u16(), cursor.u16(), cursor.u16(), cursor.u32())


# -- writing ------------------------------------------------------------------------------


def _li(length: int) -> bytes:
    """A session or presentation length indicator: one byte, or 0xFF and two bytes."""
    return bytes((length,)) if length < 0xFF else b"\xff" + length.to_bytes(2, "big")


def _association(spdu: int, presentation: bytes, user_info: bytes) -> bytes:
    inner = presentation + b"\x81" + _li(len(user_info)) + user_info + PRESENTATION_TRAILER
    body = SESSION_DATA + b"\xc1" + _li(len(inner)) + inner
    return bytes((spdu,)) + _li(len(body)) + body


def _user_info(system_type: int) -> bytes:
    """MDSEUserInfoStd with the polling profile: polls at least every 312.5 ms."""
    extension = struct.pack(
        ">IHH", POLL_EXT_PERIOD_NU_1SEC | POLL_EXT_PERIOD_RTSA | POLL_EXT_ENUM, 0, 0
    )
    profile = struct.pack(
        ">IIIIII",
        POLL_PROFILE_REV_0,
        2500,  # min poll period, RelativeTime
        2500,  # max MTU received
        1000,  # max MTU sent
        0xFFFFFFFF,  # max bandwidth
        P_OPT_DYN_CREATE_OBJECTS | P_OPT_DYN_DELETE_OBJECTS,
    ) + _ava_list([(NOM_ATTR_POLL_PROFILE_EXT, extension)])
    head = struct.pack(
        ">IIIII", MDDL_VERSION1, NOMEN_VERSION, 0, system_type, COLD_START
    ) + struct.pack(">HH", 0, 0)  # empty option list
    return head + _ava_list([(NOM_POLL_PROFILE_SUPPORT, profile)])


def _ava_list(items: Sequence[tuple[int, bytes]]) -> bytes:
    body = b"".join(struct.pack(">HH", key, len(value)) + value for key, value in items)
    return struct.pack(">HH", len(items), len(body)) + body


def association_request() -> bytes:
    return _association(ASSOC_REQUEST, AARQ_PRESENTATION, _user_info(SYST_CLIENT))


def association_result() -> bytes:
    return _association(ASSOC_ACCEPT, AARE_PRESENTATION, _user_info(SYST_SERVER))


def release(spdu: int) -> bytes:
    """A release request (0x09) or release result (0x0A)."""
    presentation = RELEASE_PRESENTATION[spdu] + bytes(4)
    body = b"\xc1" + _li(len(presentation)) + presentation
    return bytes((spdu,)) + _li(len(body)) + body


def abort() -> bytes:
    return bytes((ABORT,)) + _li(len(ABORT_BODY)) + ABORT_BODY


def data_export(kind: int, invoke_id: int, command: int, body: bytes) -> bytes:
    operation_part = struct.pack(">HHH", invoke_id, command, len(body)) + body
    return struct.pack(">HHHH", 0xE100, 2, kind, len(operation_part)) + operation_part


MDS = struct.pack(">HHH", NOM_MOC_VMS_MDS, 0, 0)  # the managed object: the monitor itself


def mds_create_event(invoke_id: int, moment: datetime, relative: int) -> bytes:
    """The monitor's announcement after an accepted association (confirmed event report)."""
    attributes = _ava_list(
        [(NOM_ATTR_TIME_ABS, bcd_time(moment)), (NOM_ATTR_TIME_REL, struct.pack(">I", relative))]
    )
    info = MDS + attributes
    report = MDS + struct.pack(">IHH", relative, NOM_NOTI_MDS_CREAT, len(info)) + info
    return data_export(ROIV, invoke_id, CMD_CONFIRMED_EVENT_REPORT, report)


def mds_create_result(invoke_id: int) -> bytes:
    """The client's answer to the MDS create event; the association is then open."""
    result = MDS + struct.pack(">IHH", 0, NOM_NOTI_MDS_CREAT, 0)
    return data_export(RORS, invoke_id, CMD_CONFIRMED_EVENT_REPORT, result)


def poll_request(invoke_id: int, poll_number: int, object_code: int) -> bytes:
    """Ask for every attribute of the objects of one class: numerics, or the MDS itself."""
    request = struct.pack(">HHHH", poll_number, NOM_PART_OBJ, object_code, 0)
    action = MDS + struct.pack(">IHH", 0, NOM_ACT_POLL_MDIB_DATA, len(request)) + request
    return data_export(ROIV, invoke_id, CMD_CONFIRMED_ACTION, action)


def parse_poll_request(body: bytes) -> tuple[int, int]:
    """(poll number, object class) of a poll request's action argument."""
    cursor = Cursor(body, "poll request")
    cursor.take(6 + 4)  # managed object, scope
    action, length = cursor.u16(), cursor.u16()
    if action != NOM_ACT_POLL_MDIB_DATA or length != cursor.left or length < 8:
        raise FrameError(f"action 0x{action:04X} of {length} bytes is not a poll request")
    poll_number, _partition, code = cursor.u16(), cursor.u16(), cursor.u16()
    return poll_number, code


def numeric(handle: int, values: Sequence[NuObs]) -> tuple[int, bytes]:
    """One numeric object's attributes: a value, or a compound (NIBP) of several."""
    packed = [struct.pack(">HHHI", v.physio_id, v.state, v.unit, v.raw) for v in values]
    if len(values) == 1:
        attribute = (NOM_ATTR_NU_VAL_OBS, packed[0])
    else:
        body = b"".join(packed)
        attribute = (NOM_ATTR_NU_CMPD_VAL_OBS, struct.pack(">HH", len(values), len(body)) + body)
    return handle, _ava_list([(NOM_ATTR_ID_HANDLE, struct.pack(">H", handle)), attribute])


def poll_result(
    invoke_id: int,
    poll_number: int,
    object_code: int,
    moment: datetime,
    relative: int,
    objects: Sequence[tuple[int, bytes]],
    sequence: int | None = None,
) -> bytes:
    """The monitor's answer to a poll: one context holding ``objects`` (handle, attributes);
    with a ``sequence`` number, the answer to an extended poll."""
    items = b"".join(struct.pack(">H", handle) + attributes for handle, attributes in objects)
    context = struct.pack(">HHH", 0, len(objects), len(items)) + items
    contexts = struct.pack(">HH", 1 if objects else 0, len(context) if objects else 0)
    numbering = struct.pack(">H", poll_number)
    if sequence is not None:
        numbering += struct.pack(">H", sequence)
    reply = (
        numbering
        + struct.pack(">I", relative)
        + bcd_time(moment)
        + struct.pack(">HHH", NOM_PART_OBJ, object_code, 0)
        + contexts
        + (context if objects else b"")
    )
    kind = NOM_ACT_POLL_MDIB_DATA if sequence is None else NOM_ACT_POLL_MDIB_DATA_EXT
    action = MDS + struct.pack(">HH", kind, len(reply)) + reply
    return data_export(RORS, invoke_id, CMD_CONFIRMED_ACTION, action)
