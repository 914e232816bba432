"""Philips IntelliVue Data Export (MIB/RS232): framing, association, polling, values."""

import struct
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices import intellivue_wire as wire
from devices.framing import EscapedFramer
from devices.intellivue import (
    KPA,
    PERCENT,
    IntelliVueAdapter,
    IntelliVueMonitor,
    Phase,
)
from vitals.errors import ConfigError
from vitals.reading import Param, Quality

# The association request of the Programming Guide as public clients send it (for example
# xeonfusion/VSCaptureMP, aarq_msg): a real monitor accepts exactly these bytes.
PUBLISHED_AARQ = bytes.fromhex(
    "0d ec 05 08 13 01 00 16 01 02 80 00 14 02 00 02 c1 dc 31 80 a0 80 80 01 "
    "01 00 00 a2 80 a0 03 00 00 01 a4 80 30 80 02 01 01 06 04 52 01 00 01 30 "
    "80 06 02 51 01 00 00 00 00 30 80 02 01 02 06 0c 2a 86 48 ce 14 02 01 00 "
    "00 00 01 01 30 80 06 0c 2a 86 48 ce 14 02 01 00 00 00 02 01 00 00 00 00 "
    "00 00 61 80 30 80 02 01 01 a0 80 60 80 a1 80 06 0c 2a 86 48 ce 14 02 01 "
    "00 00 00 03 01 00 00 be 80 28 80 06 0c 2a 86 48 ce 14 02 01 00 00 00 01 "
    "01 02 01 02 81 48 80 00 00 00 40 00 00 00 00 00 00 00 80 00 00 00 20 00 "
    "00 00 00 00 00 00 00 01 00 2c 00 01 00 28 80 00 00 00 00 00 09 c4 00 00 "
    "09 c4 00 00 03 e8 ff ff ff ff 60 00 00 00 00 01 00 0c f0 01 00 08 8c 00 "
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
)
VALUES = {
    Param.HR: 72.0,
    Param.PULSE: 71.0,
    Param.SPO2: 97.5,
    Param.SBP: 121.0,
    Param.DBP: 79.0,
    Param.MAP: 93.3,
}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def deframe(data: bytes) -> list[bytes]:
    return EscapedFramer(wire.BOF, wire.EOF, wire.ESC, 10_000).feed(data)


def messages(data: bytes) -> list[bytes]:
    """The user data of every frame in ``data``."""
    return [wire.unframe(content) for content in deframe(data)]


def associated(interval_s: float = 1) -> tuple[IntelliVueAdapter, IntelliVueMonitor, Clock]:
    """An adapter and a simulated monitor that went through the whole association."""
    clock = Clock()
    adapter, monitor = IntelliVueAdapter({"interval_s": interval_s}, clock), IntelliVueMonitor()
    monitor.feed(adapter.on_connect())
    assert adapter.feed(monitor.take_replies()) == []
    monitor.feed(adapter.take_output())
    assert adapter.phase is Phase.ASSOCIATED and monitor.associated
    return adapter, monitor, clock


def ready() -> IntelliVueAdapter:
    """An adapter that is associated: only then does it use poll answers."""
    return associated()[0]


def answer(adapter: IntelliVueAdapter, monitor: IntelliVueMonitor, values=VALUES, artifact=""):
    """Let the adapter poll, the monitor answer; the readings the adapter makes of it."""
    assert monitor.feed(adapter.due(adapter.clock()))
    frame, _ = monitor.encode(1_790_000_000, values, artifact)
    return adapter.feed(frame)


def test_published_checksum_vectors() -> None:
    for data in (bytes.fromhex("C03A719B26C1"), bytes.fromhex("C03A91957DE1C1")):
        [content] = deframe(data)
        body, sent = content[:-2], int.from_bytes(content[-2:], "little")
        assert wire.fcs(body) == sent
    assert wire.fcs(b"123456789") == 0x906E  # the CRC-16/X-25 check value


def test_frames_escape_header_and_checksum_too() -> None:
    user_data = bytes(0xC0)  # its length, 0x00C0, puts a flag byte into the header
    data = wire.frame(user_data)
    assert data[:5] == bytes((0xC0, 0x11, 0x01, 0x00, 0x7D)) and data[5] == 0xE0
    assert 0xC0 not in data[1:-1] and 0xC1 not in data[1:-1]
    assert messages(data) == [user_data]


def test_association_request_is_the_published_one() -> None:
    assert wire.association_request() == PUBLISHED_AARQ
    [sent] = messages(IntelliVueAdapter().on_connect())
    assert sent == PUBLISHED_AARQ


def test_association_then_polls_then_numerics() -> None:
    adapter, monitor, clock = associated(interval_s=2)
    readings = {r.param: r for r in answer(adapter, monitor)}
    assert {p: r.value for p, r in readings.items()} == VALUES
    assert all(r.quality is Quality.OK for r in readings.values())
    assert readings[Param.HR].device_time is None  # the monitor's clock has no time zone
    assert adapter.counts.frames_ok == 1 and adapter.link_problem == ""
    clock.now += 1.0
    assert adapter.due(clock.now) == b""  # the next poll is 2 s after the last
    clock.now += 1.0
    [poll] = messages(adapter.due(clock.now))
    op = wire.operation(poll)
    assert (op.kind, op.command) == (wire.ROIV, wire.CMD_CONFIRMED_ACTION)
    assert wire.parse_poll_request(op.body)[1] == wire.NOM_MOC_VMO_METRIC_NU


def test_the_mds_create_event_is_answered_with_its_invoke_id() -> None:
    adapter = IntelliVueAdapter(clock=Clock())
    adapter.on_connect()
    adapter.feed(wire.frame(wire.association_result()))
    assert adapter.phase is Phase.AWAITING_MDS
    adapter.feed(wire.frame(wire.mds_create_event(0x1234, datetime.now(UTC), 5)))
    [result] = messages(adapter.take_output())
    op = wire.operation(result)
    assert (op.kind, op.invoke_id, op.command) == (wire.RORS, 0x1234, 1)
    assert adapter.phase is Phase.ASSOCIATED


def test_keep_alive_between_slow_polls() -> None:
    adapter, monitor, clock = associated(interval_s=30)
    answer(adapter, monitor)
    clock.now += 4.0
    [keep_alive] = messages(adapter.due(clock.now))
    assert wire.parse_poll_request(wire.operation(keep_alive).body)[1] == wire.NOM_MOC_VMS_MDS
    monitor.feed(wire.frame(keep_alive))
    frame, sent = monitor.encode(1_790_000_004, VALUES)
    assert sent == {} and adapter.feed(frame) == []  # the MDS answer carries no numerics


@pytest.mark.parametrize(
    ("ending", "problem", "retry_s"),
    [
        (wire.abort(), "association aborted by the monitor", 1.0),
        (wire.release(wire.RELEASE_REQUEST), "association released by the monitor", 1.0),
        (
            bytes((wire.ASSOC_REFUSE, 3, 0x32, 1, 0)),
            "association refused by the monitor (is its",
            10.0,
        ),
    ],
)
def test_a_dropped_association_is_told_and_made_again(
    ending: bytes, problem: str, retry_s: float
) -> None:
    adapter, monitor, clock = associated()
    answer(adapter, monitor)
    adapter.feed(wire.frame(ending))
    assert adapter.phase is Phase.IDLE and adapter.link_problem.startswith(problem)
    if ending[0] == wire.RELEASE_REQUEST:
        assert messages(adapter.take_output()) == [wire.release(wire.RELEASE_RESULT)]
    clock.now += retry_s - 0.1
    assert adapter.due(clock.now) == b""
    clock.now += 0.1
    assert messages(adapter.due(clock.now)) == [PUBLISHED_AARQ]
    monitor.reset()
    monitor.feed(wire.frame(wire.association_request()))
    adapter.feed(monitor.take_replies())
    monitor.feed(adapter.take_output())
    assert answer(adapter, monitor) and adapter.link_problem == ""


def test_the_monitor_dropping_the_association_reaches_the_adapter() -> None:
    adapter, monitor, _ = associated()
    monitor.drop_association("release")
    assert not monitor.associated
    adapter.feed(monitor.take_replies())
    assert adapter.link_problem == "association released by the monitor"


def test_no_answer_to_the_association_request_is_asked_again() -> None:
    clock = Clock()
    adapter = IntelliVueAdapter(clock=clock)
    adapter.on_connect()
    clock.now += 4.9
    assert adapter.due(clock.now) == b""
    clock.now += 0.1
    assert messages(adapter.due(clock.now)) == [PUBLISHED_AARQ]
    assert "no answer to the association request" in adapter.link_problem


def test_unanswered_polls_end_in_a_new_association() -> None:
    adapter, monitor, clock = associated(interval_s=1)
    answer(adapter, monitor)
    for _ in range(11):  # polls go out, nothing comes back
        clock.now += 1.0
        adapter.due(clock.now)
    clock.now += 1.0
    sent = messages(adapter.due(clock.now))
    assert sent == [wire.abort(), PUBLISHED_AARQ]
    assert adapter.link_problem == "no poll answered for 12 s; associating again"


def test_silence_makes_a_fresh_start() -> None:
    adapter, _, _ = associated()
    assert messages(adapter.on_silence()) == [wire.abort(), PUBLISHED_AARQ]
    assert adapter.phase is Phase.ASSOCIATING


def obs(param: Param, value, state: int = 0, unit: int | None = None) -> wire.NuObs:
    from devices.intellivue import PHYSIO_ID, UNIT_OF

    raw = value if isinstance(value, int) and value > 0xFFFF else wire.float_type(value)
    return wire.NuObs(PHYSIO_ID[param], state, UNIT_OF[param] if unit is None else unit, raw)


def poll_answer(objects: list[tuple[int, bytes]]) -> bytes:
    moment = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    return wire.frame(wire.poll_result(7, 7, wire.NOM_MOC_VMO_METRIC_NU, moment, 0, objects))


@pytest.mark.parametrize(
    ("observation", "value", "quality"),
    [
        (obs(Param.HR, 80.0), 80.0, Quality.OK),
        (obs(Param.HR, 80.0, wire.INVALID), None, Quality.INVALID),
        (obs(Param.HR, 80.0, wire.UNAVAILABLE), None, Quality.INVALID),
        (obs(Param.HR, None), None, Quality.INVALID),  # NaN
        (obs(Param.HR, 0x00800000), None, Quality.INVALID),  # NRes
        (obs(Param.HR, 0xFF7FFFFF), None, Quality.INVALID),  # NaN with an exponent
        (obs(Param.SPO2, 95.0, wire.QUESTIONABLE), 95.0, Quality.ARTIFACT),
        (obs(Param.SPO2, 95.0, wire.DEMO_DATA), None, Quality.INVALID),
        (obs(Param.HR, 80.0, unit=PERCENT), None, Quality.INVALID),
    ],
)
def test_states_and_special_values(observation: wire.NuObs, value, quality: Quality) -> None:
    adapter = ready()
    [reading] = adapter.feed(poll_answer([wire.numeric(1, [observation])]))
    assert (reading.value, reading.quality) == (value, quality)


def test_unexpected_units_and_demo_data_are_said() -> None:
    adapter = ready()
    adapter.feed(poll_answer([wire.numeric(1, [obs(Param.HR, 80.0, unit=PERCENT)])]))
    assert adapter.counts.last_error == "hr came in unit code 0x0220"
    adapter.feed(poll_answer([wire.numeric(1, [obs(Param.HR, 80.0, wire.DEMO_DATA)])]))
    assert "demo or test data" in adapter.counts.last_error


def test_nibp_compound_in_kpa_is_converted_and_stored_once() -> None:
    nibp = [obs(Param.SBP, 16.0, unit=KPA), obs(Param.DBP, 10.7, unit=KPA)]
    nibp.append(obs(Param.MAP, 12.5, unit=KPA))
    adapter = ready()
    first = adapter.feed(poll_answer([wire.numeric(10, nibp)]))
    assert [(r.param, r.value) for r in first] == [
        (Param.SBP, 120.0),
        (Param.DBP, 80.3),
        (Param.MAP, 93.8),
    ]
    assert adapter.feed(poll_answer([wire.numeric(10, nibp)])) == []  # the same result again
    primed = ready()
    primed.prime({"sbp": 120.0, "dbp": 80.3, "map": 93.8})
    assert primed.feed(poll_answer([wire.numeric(10, nibp)])) == []  # stored before a restart


def test_linked_results_are_read_like_single_ones() -> None:
    single = wire.unframe(deframe(poll_answer([wire.numeric(1, [obs(Param.HR, 66.0)])]))[0])
    op = wire.operation(single)
    body = (
        (op.invoke_id).to_bytes(2, "big")
        + op.command.to_bytes(2, "big")
        + len(op.body).to_bytes(2, "big")
        + op.body
    )
    linked = bytes.fromhex("e1000002") + (5).to_bytes(2, "big")
    linked += (len(body) + 2).to_bytes(2, "big") + bytes((1, 1)) + body
    [reading] = ready().feed(wire.frame(linked))
    assert reading.value == 66.0


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (bytes.fromhex("C0 3A 71 00 00 C1"), "shorter than header and checksum"),
        (wire.frame(b"")[:-1] + b"\x00" + b"\xc1", "checksum error"),
        (wire.frame(bytes((0x42, 0))), "unknown session message 0x42"),
        (wire.frame(bytes.fromhex("e1000002000200ff")), "remote operation says 255 bytes"),
    ],
)
def test_bad_frames_are_counted_with_a_reason(data: bytes, error: str) -> None:
    adapter = IntelliVueAdapter()
    assert adapter.feed(data) == []
    assert adapter.counts.frames_bad == 1 and error in adapter.counts.last_error


def test_a_truncated_poll_answer_is_a_bad_frame_not_a_crash() -> None:
    whole = wire.unframe(deframe(poll_answer([wire.numeric(1, [obs(Param.HR, 66.0)])]))[0])
    for cut in range(8, len(whole)):
        adapter = IntelliVueAdapter()
        part = bytearray(whole[:cut])
        part[6:8] = (cut - 8).to_bytes(2, "big")  # a consistent outer length, a short inside
        assert adapter.feed(wire.frame(bytes(part))) == []
        assert adapter.counts.frames_bad == 1, cut


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"interval_s must be 0\.5-3600"):
        IntelliVueAdapter({"interval_s": 0})
    with pytest.raises(ConfigError, match="unknown options"):
        IntelliVueAdapter({"baud": 9600})


@given(st.integers(-(2**23) + 3, 2**23 - 3), st.integers(-3, 2))
def test_float_type_round_trip(mantissa: int, exponent: int) -> None:
    value = round(mantissa * 10.0**exponent, max(0, -exponent))
    raw = ((exponent & 0xFF) << 24) | (mantissa & 0xFFFFFF)
    assert wire.float_value(raw) == value
    if -2 <= exponent <= 0 and abs(mantissa) < 10**6:  # we send at most two decimals
        assert wire.float_value(wire.float_type(value)) == value


@given(st.sampled_from([None, 0.0, 42.0, 97.5, 120.25]), st.data())
def test_any_chunking_gives_the_same_readings(value, data) -> None:
    monitor = IntelliVueMonitor()
    values = dict(VALUES) | {Param.HR: value}
    frame, _ = monitor.encode(1_790_000_000, values)
    stream = b"\x00\xc1garbage" + frame + frame[: len(frame) // 2]
    whole = ready().feed(stream)
    adapter = ready()
    chunked, at = [], 0
    while at < len(stream):
        size = data.draw(st.integers(1, 64))
        chunked += adapter.feed(stream[at : at + size])
        at += size
    assert chunked == whole and len(whole) == 6
    assert {r.param: r.value for r in whole}[Param.HR] == value


@given(st.binary(max_size=3000))
def test_random_bytes_never_raise(noise: bytes) -> None:
    adapter = IntelliVueAdapter()
    adapter.feed(noise)
    adapter.feed(b"\xc0" + noise + b"\xc1")


@given(
    st.dictionaries(
        st.sampled_from(list(Param)),
        st.none() | st.integers(0, 30000).map(lambda centi: centi / 100),
    ),
    st.sampled_from(["", "motion", "lead-off"]),
)
def test_what_the_monitor_sends_is_what_the_adapter_reads(values: dict, artifact: str) -> None:
    frame, sent = IntelliVueMonitor().encode(1_790_000_000, values, artifact)
    read = {r.param: r for r in ready().feed(frame)}
    assert set(read) == set(values) == set(sent)
    assert {p: r.value for p, r in read.items()} == sent
    for param, reading in read.items():
        if sent[param] is None:
            assert reading.quality is Quality.INVALID
        elif artifact == "motion" and param in (Param.SPO2, Param.PULSE):
            assert reading.quality is Quality.ARTIFACT
        else:
            assert reading.quality is Quality.OK


def test_the_monitor_clock_is_read_as_its_wall_time() -> None:
    moment = datetime(2026, 3, 1, 9, 30, 15, 250_000)
    assert wire.time_of_bcd(wire.bcd_time(moment)) == moment
    assert wire.time_of_bcd(b"\xff" * 8) is None  # not kept by this monitor
    assert wire.time_of_bcd(bytes.fromhex("2026133200000000")) is None  # month 13


def extended_answer(objects: list[tuple[int, bytes]], sequence: int = 1, code=None) -> bytes:
    """A poll answer as a client using the extended poll action receives it."""
    moment = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    kind = wire.NOM_MOC_VMO_METRIC_NU if code is None else code
    return wire.frame(wire.poll_result(9, 9, kind, moment, 0, objects, sequence=sequence))


NUMERICS = [wire.numeric(1, [obs(Param.HR, 71.0)]), wire.numeric(2, [obs(Param.SPO2, 97.0)])]


@given(st.integers(0, 0xFFFF), st.data())
def test_extended_poll_answers_are_read_like_plain_ones(sequence: int, data) -> None:
    stream = extended_answer(NUMERICS, sequence) + poll_answer(NUMERICS[:1])
    adapter, at, read = ready(), 0, []
    while at < len(stream):
        size = data.draw(st.integers(1, 80))
        read += adapter.feed(stream[at : at + size])
        at += size
    assert [(r.param, r.value) for r in read] == [
        (Param.HR, 71.0),
        (Param.SPO2, 97.0),
        (Param.HR, 71.0),
    ]
    assert adapter.counts.frames_ok >= 2 and adapter.counts.unused == {}


def test_poll_answers_outside_an_association_are_counted_not_used() -> None:
    adapter = IntelliVueAdapter()
    assert adapter.feed(extended_answer(NUMERICS) + poll_answer(NUMERICS)) == []
    assert adapter.counts.unused == {"poll answer outside an association": 2}
    assert adapter.counts.frames_bad == 0


def test_what_is_not_used_is_counted_by_kind() -> None:
    adapter = ready()
    temperature = wire.NuObs(0x4B48, 0, 0x17A0, wire.float_type(36.6))
    adapter.feed(poll_answer([wire.numeric(3, [temperature]), *NUMERICS]))
    adapter.feed(extended_answer([], code=0x002A))  # patient demographics
    adapter.feed(extended_answer([], code=wire.NOM_MOC_VMS_MDS))  # answer to our keep-alive
    report = wire.MDS + struct.pack(">IHH", 0, 0x0D0B, 0)  # an unconfirmed event report
    adapter.feed(wire.frame(wire.data_export(wire.ROIV, 3, wire.CMD_EVENT_REPORT, report)))
    adapter.feed(wire.frame(wire.data_export(wire.RORS, 4, 3, wire.MDS)))  # a get result
    assert adapter.counts.unused == {
        "numeric 0x4B48": 1,
        "poll answer for patient demographics": 1,
        "event report 0x0D0B": 1,
        "get answer": 1,
    }
