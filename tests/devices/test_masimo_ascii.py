"""Masimo ASCII serial output: line vectors, exceptions, chunking, garbage."""

from hypothesis import given
from hypothesis import strategies as st

from devices.masimo_ascii import MasimoAsciiAdapter, MasimoAsciiMonitor, encode_line
from devices.registry import new_adapter
from vitals.reading import Param, Quality

LINE = (
    b"03/17/16 19:19:36 SN=0000070986 SPO2=098% BPM=072 PI=02.41 SPCO=--.-% SPMET=--.-% "
    b"DESAT=-- PIDELTA=+-- PVI=--- ALARM=000000 EXC=000800\r\n"
)


def decoded(data: bytes) -> list[tuple]:
    adapter = MasimoAsciiAdapter()
    return [(r.param, r.value, r.quality) for r in adapter.feed(data)]


def test_a_line_gives_spo2_and_pulse() -> None:
    assert decoded(LINE) == [(Param.SPO2, 98.0, Quality.OK), (Param.PULSE, 72.0, Quality.OK)]
    assert new_adapter("masimo-ascii").serial.describe() == "9600 8N1"


def test_dashes_are_no_data() -> None:
    line = LINE.replace(b"SPO2=098%", b"SPO2=---%").replace(b"BPM=072", b"BPM=---")
    assert decoded(line) == [
        (Param.SPO2, None, Quality.INVALID),
        (Param.PULSE, None, Quality.INVALID),
    ]


def test_exceptions_invalidate_and_low_perfusion_is_an_artifact() -> None:
    for exc, quality in (
        (b"000801", Quality.INVALID),
        (b"000810", Quality.INVALID),
        (b"000C00", Quality.INVALID),
        (b"000804", Quality.ARTIFACT),
        (b"000000", Quality.OK),
    ):
        assert {q for _, _, q in decoded(LINE.replace(b"000800", exc))} == {quality}


def test_broken_lines_are_counted_and_decoding_goes_on() -> None:
    adapter = MasimoAsciiAdapter()
    readings = adapter.feed(
        b"garbage\r\n" + LINE.replace(b"SPO2=098%", b"SPO2=9x8%") + LINE + b"\xff" * 600
    )
    assert len(readings) == 2
    assert adapter.counts.frames_ok == 1 and adapter.counts.frames_bad == 3
    assert "without a line end" in adapter.counts.last_error


def test_the_simulated_oximeter_flags_artifacts_as_the_real_one() -> None:
    monitor = MasimoAsciiMonitor()
    values = {Param.SPO2: 97.4, Param.PULSE: 71.6, Param.SBP: 120.0}
    line, sent = monitor.encode(1_700_000_000, values)
    assert sent == {Param.SPO2: 97.0, Param.PULSE: 72.0}
    assert decoded(line) == [(Param.SPO2, 97.0, Quality.OK), (Param.PULSE, 72.0, Quality.OK)]
    motion, _ = monitor.encode(0, values, "motion")
    assert {q for _, _, q in decoded(motion)} == {Quality.INVALID}
    off, sent = monitor.encode(0, values, "lead-off")
    assert sent == {Param.SPO2: None, Param.PULSE: None}
    assert {q for _, _, q in decoded(off)} == {Quality.INVALID}
    assert not monitor.feed(b"anything") and monitor.interval_s == 1


@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(0, 100)), st.one_of(st.none(), st.integers(0, 300))
        ),
        max_size=8,
    ),
    st.binary(max_size=100).filter(lambda b: b"\n" not in b),
    st.data(),
)
def test_round_trip_any_chunking_garbage_prefix(values: list, garbage: bytes, data) -> None:
    stream = garbage + b"\r\n" + b"".join(encode_line("01/01/26 00:00:00", s, p) for s, p in values)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    adapter = MasimoAsciiAdapter()
    got = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got += [(r.param, r.value) for r in adapter.feed(stream[start:end])]
    expected = [
        (param, None if v is None else float(v))
        for s, p in values
        for param, v in ((Param.SPO2, s), (Param.PULSE, p))
    ]
    assert got == expected


@given(st.binary(max_size=3000))
def test_random_bytes_never_raise(noise: bytes) -> None:
    MasimoAsciiAdapter().feed(noise)
