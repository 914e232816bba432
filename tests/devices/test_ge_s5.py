"""GE S/5 DRI: byte vectors, round trips, chunking, garbage and every error path."""

import struct

from hypothesis import given
from hypothesis import strategies as st

from devices.ge_s5 import (
    BASIC_FIELDS,
    GeS5Adapter,
    GeS5Monitor,
    checksum,
    display_record,
    encode_frame,
    request_record,
)
from vitals.reading import Param, Quality

VALUES = {
    Param.HR: 72,
    Param.SBP: 121.5,
    Param.DBP: 80,
    Param.MAP: 94,
    Param.SPO2: 98,
    Param.PULSE: 71,
}


def values_of(readings) -> dict:
    return {r.param: r.value for r in readings}


def test_request_frame_bytes() -> None:
    record = request_record(5)
    assert len(record) == 49
    # r_len 49, main type 0 (PHDB), first subrecord type 0 (request), list ended by 0xFF
    assert record[:2] == b"\x31\x00" and record[14:16] == b"\x00\x00"
    assert record[16:22] == b"\x00\x00\x00\x00\x00\xff"
    # display data (1), every 5 s, basic class only
    assert record[40:49] == b"\x01\x05\x00\x00\x00\x00\x00\x00\x00"
    frame = encode_frame(record)
    assert frame[0] == frame[-1] == 0x7E and frame[-2] == checksum(record)


def test_checksum_is_the_byte_sum_of_the_unescaped_record() -> None:
    assert checksum(b"\x7e\x7d\x01") == (0x7E + 0x7D + 1) & 0xFF
    framed = encode_frame(b"\x7e\x40")  # the checksum 0xBE needs no escape, 0x7E does
    assert framed == b"\x7e\x7d\x5e\x40\xbe\x7e"


def test_display_record_layout_matches_the_specification() -> None:
    record = display_record(7, 1_700_000_000, VALUES)
    assert len(record) == 40 + 278
    assert struct.unpack_from("<h", record, 0)[0] == 318
    sub = record[40:]
    assert struct.unpack_from("<I", sub, 0)[0] == 1_700_000_000
    assert struct.unpack_from("<h", sub, 4 + 6)[0] == 72  # ECG HR in 1/min
    assert struct.unpack_from("<hhh", sub, 4 + 78) == (12150, 8000, 9400)  # NIBP in 0.01 mmHg
    assert struct.unpack_from("<hh", sub, 4 + 124) == (9800, 71)  # SpO2 0.01 %, PR 1/min
    assert struct.unpack_from("<H", sub, 276)[0] >> 8 == 0  # basic class


def test_decode_display_frame() -> None:
    adapter = GeS5Adapter()
    readings = adapter.feed(encode_frame(display_record(1, 1_700_000_000, VALUES)))
    assert values_of(readings) == {p: float(v) for p, v in VALUES.items()}
    assert {r.quality for r in readings} == {Quality.OK}
    assert readings[0].device_time.timestamp() == 1_700_000_000
    assert adapter.counts.frames_ok == 1 and adapter.counts.frames_bad == 0


def test_nibp_is_reported_once_although_every_record_repeats_it() -> None:
    adapter = GeS5Adapter()
    first = adapter.feed(encode_frame(display_record(1, 0, VALUES)))
    again = adapter.feed(encode_frame(display_record(2, 5, VALUES)))
    newer = adapter.feed(encode_frame(display_record(3, 10, VALUES | {Param.SBP: 130})))
    assert Param.SBP in values_of(first)
    assert set(values_of(again)) == {Param.HR, Param.SPO2, Param.PULSE}
    assert values_of(newer)[Param.SBP] == 130.0 and values_of(newer)[Param.DBP] == 80.0


def test_priming_with_the_stored_nibp_prevents_a_duplicate_after_restart() -> None:
    adapter = GeS5Adapter()
    adapter.prime({"sbp": 121.5, "dbp": 80.0, "map": 94.0})
    assert Param.SBP not in values_of(adapter.feed(encode_frame(display_record(1, 0, VALUES))))


def test_no_data_markers_become_invalid_readings_without_value() -> None:
    adapter = GeS5Adapter()
    readings = adapter.feed(encode_frame(display_record(1, 0, {p: None for p in BASIC_FIELDS})))
    assert len(readings) == 6
    assert all(r.value is None and r.quality is Quality.INVALID for r in readings)


def test_checksum_error_is_counted_and_decoding_goes_on() -> None:
    adapter = GeS5Adapter()
    good = encode_frame(display_record(1, 0, VALUES))
    bad = bytearray(good)
    bad[50] ^= 0x01
    readings = adapter.feed(bytes(bad) + good)
    assert len(readings) == 6
    assert adapter.counts.frames_bad == 1
    assert "checksum error" in adapter.counts.last_error


def test_truncated_and_inconsistent_frames_are_frame_errors() -> None:
    adapter = GeS5Adapter()
    record = display_record(1, 0, VALUES)
    short = record[:30]
    lying = b"\x00\x10" + record[2:]  # header claims 4096 bytes
    assert adapter.feed(encode_frame(short) + encode_frame(lying) + b"\x7e\x01\x7e") == []
    assert adapter.counts.frames_bad == 3
    assert adapter.counts.frames_ok == 0


def test_monitor_side_answers_the_request_and_reports_what_it_encoded() -> None:
    monitor = GeS5Monitor()
    assert monitor.feed(GeS5Adapter({"interval_s": 10}).on_connect())
    assert monitor.interval_s == 10
    frame, sent = monitor.encode(0, VALUES | {Param.SPO2: 97.456})
    assert sent[Param.SPO2] == 97.46  # what survives the 0.01 % encoding
    assert values_of(GeS5Adapter().feed(frame))[Param.SPO2] == 97.46


value_strategy = st.one_of(st.none(), st.integers(0, 320))


@given(
    st.lists(
        st.fixed_dictionaries({p: value_strategy for p in BASIC_FIELDS}), min_size=1, max_size=6
    )
)
def test_encode_decode_round_trip(records: list[dict]) -> None:
    adapter, monitor = GeS5Adapter(), GeS5Monitor()
    stream, expected, last_nibp = b"", [], None
    for i, values in enumerate(records):
        frame, sent = monitor.encode(i, values)
        stream += frame
        nibp = tuple(sent[p] for p in (Param.SBP, Param.DBP, Param.MAP))
        expected += [
            (p, v)
            for p, v in sent.items()
            if p not in (Param.SBP, Param.DBP, Param.MAP) or nibp != last_nibp
        ]
        last_nibp = nibp
    got = [(r.param, r.value) for r in adapter.feed(stream)]
    assert sorted(got, key=repr) == sorted(expected, key=repr)


@given(st.binary(max_size=300), st.binary(max_size=300), st.data())
def test_garbage_around_frames_and_any_chunking(prefix: bytes, suffix: bytes, data) -> None:
    frames = b"".join(
        encode_frame(display_record(i, i, VALUES | {Param.SBP: 100 + i})) for i in range(3)
    )
    stream = prefix + b"\x7e" + frames + suffix
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    adapter = GeS5Adapter()
    readings = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        readings += adapter.feed(stream[start:end])  # never raises
    sbp = [r.value for r in readings if r.param is Param.SBP and r.value is not None]
    assert sbp[-3:] == [100.0, 101.0, 102.0]


@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(noise: bytes) -> None:
    adapter = GeS5Adapter()
    adapter.feed(noise)
    assert adapter.counts.frames_ok + adapter.counts.frames_bad >= 0
