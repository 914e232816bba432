from hypothesis import given
from hypothesis import strategies as st

from devices.framing import EscapedFramer, escape

FLAG, ESC = 0x7E, 0x7D


def frame(payload: bytes) -> bytes:
    return bytes([FLAG]) + escape(payload, frozenset({FLAG, ESC}), ESC) + bytes([FLAG])


def test_escaping_of_flag_and_escape_bytes() -> None:
    assert frame(b"\x01\x7e\x7d\x02") == b"\x7e\x01\x7d\x5e\x7d\x5d\x02\x7e"
    framer = EscapedFramer(FLAG, FLAG, ESC, 100)
    assert framer.feed(b"\x7e\x01\x7d\x5e\x7d\x5d\x02\x7e") == [b"\x01\x7e\x7d\x02"]


def test_garbage_before_between_and_oversize_frames_are_counted() -> None:
    framer = EscapedFramer(FLAG, FLAG, ESC, max_frame=8)
    out = framer.feed(b"junk" + frame(b"ok") + b"\x7e" + b"x" * 20 + b"\x7e" + frame(b"ok2"))
    assert out == [b"ok", b"ok2"]
    assert framer.counts.bad_frames == 1
    assert framer.counts.discarded_bytes >= 4


def test_broken_escape_at_frame_end_is_a_bad_frame() -> None:
    framer = EscapedFramer(FLAG, FLAG, ESC, 100)
    assert framer.feed(b"\x7e\x01\x7d\x7e") == []
    assert framer.counts.bad_frames == 1


def test_distinct_start_and_end_flags() -> None:
    framer = EscapedFramer(0xC0, 0xC1, ESC, 100)
    assert framer.feed(b"zz\xc0ab\xc1yy\xc0c\x7d\xe0\xc1") == [b"ab", b"c\xc0"]


@given(st.lists(st.binary(min_size=1, max_size=40), max_size=8), st.data())
def test_any_chunking_gives_the_same_frames(payloads: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(frame(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    framer = EscapedFramer(FLAG, FLAG, ESC, 100)
    got: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got += framer.feed(stream[start:end])
    assert got == payloads


def byte_by_byte(stream: bytes, start: int, end: int, esc: int, most: int) -> tuple:
    """The framing rules stated one byte at a time: the oracle for the framer's runs."""
    frames, buffer, inside, escaped, bad, discarded = [], bytearray(), False, False, 0, 0
    for byte in stream:
        if byte == end and inside and (buffer or start != end):
            if escaped:
                bad += 1
            else:
                frames.append(bytes(buffer))
            buffer, escaped, inside = bytearray(), False, start == end
        elif byte == start:
            if buffer:
                bad, discarded, buffer = bad + 1, discarded + len(buffer), bytearray()
            inside, escaped = True, False
        elif not inside:
            discarded += 1
        elif byte == esc:
            escaped = True
        else:
            buffer.append(byte ^ 0x20 if escaped else byte)
            escaped = False
            if len(buffer) > most:
                bad, discarded, buffer = bad + 1, discarded + len(buffer), bytearray()
                inside = escaped = False
    return frames, bad, discarded


@given(
    st.lists(
        st.sampled_from([b"\x7e", b"\x7d", b"\xc0", b"\xc1", b"a", b"bc", b"\x5e"]), max_size=60
    ),
    st.sampled_from([(FLAG, FLAG), (0xC0, 0xC1)]),
    st.integers(1, 6),
    st.data(),
)
def test_runs_of_ordinary_bytes_are_taken_as_one_byte_at_a_time_would(
    pieces: list[bytes], flags: tuple[int, int], most: int, data: st.DataObject
) -> None:
    """Garbage, broken escapes, lost flags and oversize frames, cut anywhere: the same frames
    and the same counts as the rules applied byte by byte."""
    stream = b"".join(pieces)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    framer = EscapedFramer(*flags, ESC, most)
    got: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got += framer.feed(stream[start:end])
    counts = framer.counts
    assert (got, counts.bad_frames, counts.discarded_bytes) == byte_by_byte(
        stream, *flags, ESC, most
    )
