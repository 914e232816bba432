"""HL7 v2 ORU^R01 over MLLP: mapping, units, segment separators, ACK modes, bad input."""

import hl7
import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.hl7_mllp import NIBP, Hl7MllpAdapter, Hl7MllpMonitor, frame
from vitals.errors import ConfigError
from vitals.reading import Param, Quality

ORU = (
    "MSH|^~\\&|GATEWAY|ICU|CHAIRSIDE|CLINIC|20260301090000+0100||ORU^R01|MSG1|P|2.5{mode}\r"
    "PID|||P-1\r"
    "OBR|1\r"
    "OBX|1|NM|8867-4^Heart rate^LN||72|/min^^UCUM|||||F|||20260301085959+0100\r"
    "OBX|2|NM|8480-6^Systolic^LN||16.0|kPa^^UCUM|||||F\r"
    "OBX|3|NM|59408-5^SpO2^LN||97|%^^UCUM|||||X\r"
    "OBX|4|NM|8310-5^Body temperature^LN||36.9|Cel^^UCUM|||||F\r"
    "OBX|5|NM|VND-PR^Pulse^99VND||70|/min|||||F\r"
)


def oru(mode: str = "") -> str:
    return ORU.format(mode=mode)


def test_observations_are_mapped_converted_and_timed() -> None:
    adapter = Hl7MllpAdapter({"codes": {"VND-PR": "pulse"}})
    readings = {r.param: r for r in adapter.feed(frame(oru()))}
    assert set(readings) == {Param.HR, Param.SBP, Param.SPO2, Param.PULSE}  # temperature ignored
    assert readings[Param.HR].value == 72.0
    assert readings[Param.HR].device_time.isoformat() == "2026-03-01T07:59:59+00:00"
    assert readings[Param.SBP].value == 120.01  # 16.0 kPa in mmHg
    assert readings[Param.SBP].device_time.isoformat() == "2026-03-01T08:00:00+00:00"  # MSH-7
    assert readings[Param.SPO2].quality is Quality.INVALID  # result status X
    assert adapter.counts.frames_ok == 1


def test_lf_and_crlf_segment_separators_are_tolerated() -> None:
    for separator in ("\n", "\r\n"):
        adapter = Hl7MllpAdapter()
        assert len(adapter.feed(frame(oru().replace("\r", separator)))) == 3


@pytest.mark.parametrize(
    ("mode", "acks"), [("", 1), ("|||AL|NE", 1), ("|||NE|NE", 0), ("|||ER|NE", 0)]
)
def test_ack_follows_the_senders_wish(mode: str, acks: int) -> None:
    adapter = Hl7MllpAdapter()
    adapter.feed(frame(oru(mode)))
    adapter.settle(stored=True)
    out = adapter.take_output()
    assert out.count(b"\x1c\r") == acks
    if acks:
        ack = hl7.parse(out[1:-2].decode())
        assert str(ack.segment("MSA")[1]) == "AA" and str(ack.segment("MSA")[2]) == "MSG1"


def test_garbage_and_broken_messages_are_counted() -> None:
    adapter = Hl7MllpAdapter()
    readings = adapter.feed(b"noise" + frame("not hl7 at all") + frame(oru()) + b"\x0b" + b"x" * 10)
    assert len(readings) == 3
    assert adapter.counts.frames_bad == 2 and adapter.counts.frames_ok == 1


def test_bad_vendor_map_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="parameters: hr"):
        Hl7MllpAdapter({"codes": {"X": "temperature"}})
    with pytest.raises(ConfigError, match="unknown options"):
        Hl7MllpAdapter({"port": 1})


def test_a_resent_nibp_with_the_same_observation_time_is_stored_once() -> None:
    monitor, adapter = Hl7MllpMonitor(), Hl7MllpAdapter()
    values = {Param.HR: 70.0, Param.SBP: 130.0, Param.DBP: 85.0, Param.MAP: 100.0}
    first, _ = monitor.encode(1_800_000_000, values)
    again, _ = monitor.encode(1_800_000_005, values)
    params = [r.param for r in adapter.feed(first + again)]
    assert params.count(Param.SBP) == 1 and params.count(Param.HR) == 2
    adapter.settle(stored=True)
    assert monitor.feed(adapter.take_output()) is False and monitor.acks == 2


def hr_message(number: int, hr: int, observed: str = "20260301085959+0000") -> bytes:
    return frame(
        f"MSH|^~\\&|GW|ICU|CS|CLINIC|20260301090000+0000||ORU^R01|M{number}|P|2.5\r"
        f"OBX|1|NM|8867-4^HR^LN||{hr}|/min|||||F|||{observed}\r"
    )


def acks_of(adapter: Hl7MllpAdapter) -> list[tuple[str, str]]:
    out = adapter.take_output().decode()
    blocks = [b.strip("\x0b\r") for b in out.split("\x1c\r") if b.strip()]
    return [
        (str(hl7.parse(b).segment("MSA")[1]), str(hl7.parse(b).segment("MSA")[2])) for b in blocks
    ]


def test_nothing_is_acknowledged_before_the_recorder_says_whether_it_is_stored() -> None:
    adapter = Hl7MllpAdapter()
    assert len(adapter.feed(hr_message(1, 71))) == 1
    assert adapter.take_output() == b""  # not yet: the readings are not committed
    adapter.settle(stored=True)
    assert acks_of(adapter) == [("AA", "M1")]


def test_a_refusing_store_gets_ar_and_the_resend_is_taken_as_new() -> None:
    adapter = Hl7MllpAdapter()
    assert len(adapter.feed(hr_message(1, 71))) == 1
    adapter.settle(stored=False)
    assert acks_of(adapter) == [("AR", "M1")]
    resent = adapter.feed(hr_message(1, 71))  # the sender keeps it and sends it again
    assert [r.value for r in resent] == [71.0]
    adapter.settle(stored=True)
    assert acks_of(adapter) == [("AA", "M1")]


def test_a_stopped_clock_keeps_every_new_value_and_a_true_resend_once() -> None:
    """A monitor whose clock stands still: ten HR values with one observation time."""
    adapter = Hl7MllpAdapter()
    got = []
    for n, hr in enumerate([70, 71, 72, 73, 74, 75, 76, 77, 78, 79]):
        got += adapter.feed(hr_message(n, hr))
    assert [r.value for r in got] == [70.0 + i for i in range(10)]
    assert adapter.feed(hr_message(10, 79)) == []  # the last one, resent as it was


@pytest.mark.parametrize("observed", ["99991231235959-2359", "00010101000000+2359"])
def test_a_time_beyond_what_a_clock_can_hold_is_no_device_time(observed: str) -> None:
    adapter = Hl7MllpAdapter()
    [reading] = adapter.feed(hr_message(1, 70, observed).replace(b"20260301090000+0000", b""))
    assert reading.value == 70.0 and reading.device_time is None


values_st = st.fixed_dictionaries({p: st.one_of(st.none(), st.integers(1, 250)) for p in Param})


@given(st.lists(values_st, min_size=1, max_size=5), st.binary(max_size=50), st.data())
def test_round_trip_any_chunking(messages: list, garbage: bytes, data) -> None:
    monitor, adapter = Hl7MllpMonitor(), Hl7MllpAdapter()
    stream, expected = garbage.replace(b"\x0b", b""), []
    for i, values in enumerate(messages):
        encoded, sent = monitor.encode(1_800_000_000 + 5 * i, values)
        stream += encoded
        nibp_new = i == 0 or any(values[p] != messages[i - 1][p] for p in NIBP)
        expected += [(p.value, v) for p, v in sent.items() if p not in NIBP or nibp_new]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    got = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got += [(r.param.value, r.value) for r in adapter.feed(stream[start:end])]
    assert sorted(got, key=repr) == sorted(expected, key=repr)


@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(noise: bytes) -> None:
    Hl7MllpAdapter().feed(b"\x0b" + noise + b"\x1c\r")


def test_a_cut_off_block_is_dropped_and_the_next_one_read() -> None:
    adapter = Hl7MllpAdapter()
    cut = frame(oru())[:40]  # no end: the sender restarted mid-message
    assert len(adapter.feed(cut + frame(oru()))) == 3
    assert adapter.counts.frames_bad == 1 and adapter.counts.frames_ok == 1


def acks(adapter: Hl7MllpAdapter) -> list[hl7.Message]:
    out = adapter.take_output()
    return [hl7.parse(block[1:].decode()) for block in out.split(b"\x1c\r") if block]


def test_a_frame_that_cannot_be_answered_in_its_own_terms_gets_chairsides_ae() -> None:
    """A gateway waiting for an answer to each frame: a frame with no readable MSH (nothing
    to echo in MSA-2) is answered AE with the reason, in order after the good message before
    it, instead of leaving the sender to time out and resend the same broken frame."""
    adapter = Hl7MllpAdapter()
    readings = adapter.feed(frame(oru()) + frame("PID|||P-1\rOBX|1|NM|8867-4^HR^LN||70"))
    assert len(readings) == 3 and acks(adapter) == []  # nothing before the store answers
    adapter.settle(stored=True)
    good, broken = acks(adapter)
    assert str(good.segment("MSA")[1]) == "AA" and str(good.segment("MSA")[2]) == "MSG1"
    assert str(broken.segment("MSH")[9]) == "ACK" and str(broken.segment("MSA")[1]) == "AE"
    assert str(broken.segment("MSA")[2]) == ""  # no control id to echo
    err = broken.segment("ERR")
    assert str(err[3]).startswith("100^") and str(err[4]) == "E"
    assert "no readable MSH" in str(err[7])
    assert adapter.counts.frames_bad == 1 and adapter.counts.frames_ok == 1
    adapter.feed(frame("MSH|^~\\&|GW"))  # cut short: parsed, but too short to acknowledge
    adapter.settle(stored=True)
    [short] = acks(adapter)
    assert str(short.segment("MSA")[1]) == "AE" and "too malformed" in str(short.segment("ERR")[7])
    assert adapter.counts.frames_bad == 2
