"""The interoperability corpus: what real monitors of five makers sent, as others published
it (tests/vectors/README.md gives each file's source, commit and licence).

Each test says what the source says the file holds and checks the decoded readings against
it, whole and at random chunkings. Files whose licence does not let us redistribute them
are looked for in $CHAIRSIDE_VECTORS and in ../shared/vectors (same layout); where absent,
their tests skip and say where to get them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import intellivue_wire as wire
from devices.framing import escape
from devices.hl7_mllp import frame_text
from devices.intellivue import IntelliVueAdapter, Phase
from devices.registry import new_adapter
from tests.conftest import SHARED_VECTORS
from vitals.reading import Param, Quality, Reading

COMMITTED = Path(__file__).resolve().parent.parent / "vectors"
BIG = settings(max_examples=3, deadline=None)
SMALL = settings(max_examples=40, deadline=None)


def external(relative: str, sha256: str) -> bytes:
    """A corpus file we may not redistribute: found beside the project, or skipped."""
    places = [Path(p) for p in (os.environ.get("CHAIRSIDE_VECTORS"), SHARED_VECTORS) if p]
    for base in places:
        path = base / relative
        if path.exists():
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            assert digest == sha256, f"{path} is not the file tests/vectors/README.md describes"
            return data
    pytest.skip(f"{relative} not present (see tests/vectors/README.md for its source)")


def decode(protocol: str, data: bytes, rng: random.Random | None = None, adapter=None):
    """Feed ``data`` whole, or in random chunks of 1-4096 bytes; the adapter and readings."""
    adapter = adapter or new_adapter(protocol)
    if rng is None:
        return adapter, adapter.feed(data)
    readings, at = [], 0
    while at < len(data):
        size = rng.randint(1, 4096)
        readings += adapter.feed(data[at : at + size])
        at += size
    return adapter, readings


def same_at_any_chunking(protocol: str, data: bytes, seed: int, make=None) -> None:
    whole_adapter, whole = decode(protocol, data, adapter=make() if make else None)
    chunked_adapter, chunked = decode(protocol, data, random.Random(seed), make() if make else None)
    assert chunked == whole
    assert chunked_adapter.counts == whole_adapter.counts


def values(readings: list[Reading], param: Param) -> list[float | None]:
    return [r.value for r in readings if r.param is param]


# -- GE Datex-Ohmeda S/5 (DRI) -------------------------------------------------------------

S5 = (
    "ge-s5-dri/s5-raw-capture.bin",
    "1e21d9b78f1ac740809a268f2bf7b8f896a35a10f17c0152dcbed6f385e6dfe7",
)
DB00 = (
    "ge-s5-dri/pycollect-db00.raw",
    "43b2796fc4d996a8c20d945a885a5e1b4210ba8a61c3972737800101bf1e744d",
)
DB01 = (
    "ge-s5-dri/pycollect-db01.raw",
    "240e4afd1279154f8d4d3082812fb8a689cf09a0b0f92504f330342179a6f47f",
)
DB02 = (
    "ge-s5-dri/pycollect-db02.raw",
    "eebc9e7641dc3726ab0574742f939f0a110f45cbcc3832048b0aa463095c3d36",
)
EXTENDED_CLASSES = [f"display subrecord of extended class {n}" for n in (1, 2, 3)]


def test_s5_capture_without_a_patient_is_all_no_data_and_says_what_it_skipped() -> None:
    adapter, readings = decode("ge-s5", external(*S5))
    assert all(r.value is None and r.quality is Quality.INVALID for r in readings)
    assert adapter.counts.unused == dict.fromkeys(EXTENDED_CLASSES, 21)


def test_pycollect_recording_holds_a_patient_in_theatre() -> None:
    """PyCollect's README: a GE monitor with ECG, NIBP and SpO2 modules active, recorded as
    displayed values plus waveforms. Its first record (2018-08-02 14:30:20 UTC) reads HR 85,
    NIBP 87/61 (73), SpO2 100 %, pulse 87, as a hand decode at the DRI offsets confirmed;
    ten NIBP results follow over 29 minutes."""
    adapter, readings = decode("ge-s5", external(*DB00))
    assert (adapter.counts.frames_ok, adapter.counts.frames_bad) == (3520, 0)
    first = {r.param: r.value for r in readings[:6]}
    assert first == {
        Param.HR: 85,
        Param.SBP: 87,
        Param.DBP: 61,
        Param.MAP: 73,
        Param.SPO2: 100,
        Param.PULSE: 87,
    }
    assert readings[0].device_time == datetime(2018, 8, 2, 14, 30, 20, tzinfo=UTC)
    nibp = list(zip(*(values(readings, p) for p in (Param.SBP, Param.DBP, Param.MAP)), strict=True))
    assert nibp == [
        (87, 61, 73), (86, 58, 71), (91, 57, 69), (79, 55, 65), (94, 63, 77),
        (90, 62, 74), (85, 62, 71), (84, 57, 69), (90, 58, 71), (81, 52, 64),
    ]  # fmt: skip
    hr = values(readings, Param.HR)
    assert len(hr) == 1760 and min(hr) == 68 and max(hr) == 98
    assert adapter.counts.unused == dict.fromkeys(EXTENDED_CLASSES, 1760) | {
        "waveform record": 1760
    }


def test_pycollect_noisy_recording_resynchronises_after_every_bad_frame() -> None:
    """db01 holds bytes lost on the line: bad frames are counted, the good ones still read
    (first record 2018-07-26 17:06:38 UTC: HR 80, NIBP 93/48 (69), SpO2 95.72 %, pulse 82)."""
    adapter, readings = decode("ge-s5", external(*DB01))
    assert (adapter.counts.frames_ok, adapter.counts.frames_bad) == (2126, 320)
    assert {r.param: r.value for r in readings[:6]} == {
        Param.HR: 80,
        Param.SBP: 93,
        Param.DBP: 48,
        Param.MAP: 69,
        Param.SPO2: 95.72,
        Param.PULSE: 82,
    }
    assert readings[0].device_time == datetime(2018, 7, 26, 17, 6, 38, tzinfo=UTC)


@pytest.mark.parametrize("vector", [S5, DB02], ids=["s5", "pycollect-db02"])
def test_ge_vectors_read_the_same_at_any_chunking(vector) -> None:
    data = external(*vector)

    @BIG
    @given(st.integers(0, 2**32))
    def chunked(seed: int) -> None:
        same_at_any_chunking("ge-s5", data, seed)

    chunked()


# -- Philips IntelliVue (Data Export over MIB/RS232) ---------------------------------------

DEMOGRAPHICS = (
    "intellivue/mindleaving-demographics-poll-answer.b64",
    "57e81319d42adaf121960222c77420772824069eeddfd1786279aba21b6f47c4",
)


def demographics_frame() -> bytes:
    """The source keeps the frame after transparency decoding: escape it again as sent."""
    unescaped = base64.b64decode(external(*DEMOGRAPHICS))
    content = escape(unescaped[1:-1], wire.SPECIALS, wire.ESC)
    return bytes((wire.BOF,)) + content + bytes((wire.EOF,))


def associated() -> IntelliVueAdapter:
    adapter = IntelliVueAdapter()
    adapter.phase = Phase.ASSOCIATED  # as after an association with this monitor
    return adapter


def test_intellivue_patient_demographics_answer_is_read_and_counted_not_used() -> None:
    """A real monitor's answer to a poll for patient demographics (object class 0x002A):
    a valid frame (its checksum holds) with no numerics in it."""
    adapter, readings = decode("intellivue", demographics_frame(), adapter=associated())
    assert readings == [] and adapter.counts.frames_ok == 1 and adapter.counts.frames_bad == 0
    assert adapter.counts.unused == {"poll answer for patient demographics": 1}
    alone, _ = decode("intellivue", demographics_frame())
    assert alone.counts.unused == {"poll answer outside an association": 1}


def test_intellivue_vector_reads_the_same_at_any_chunking() -> None:
    data = demographics_frame() * 3

    @SMALL
    @given(st.integers(0, 2**32))
    def chunked(seed: int) -> None:
        same_at_any_chunking("intellivue", data, seed, make=associated)

    chunked()


# -- HL7 v2 over MLLP: Philips, Mindray, Draeger ------------------------------------------

PHILIPS = (
    "hl7-mllp/cenmt-philips-HL7_sample.txt",
    "f76c2698abc4091ff129c9ac3266608c98617d04f098b1d582599881ba3d5ab1",
)
MINDRAY_ALARM = (
    "hl7-mllp/mindray-raw_hl7_sample-alarm.hl7",
    "8abbcfe567c0a991e558ef30f8c5c1bf673301f946760fc7c6148ab381746c42",
)
DRAEGER_ALARM = (
    "hl7-mllp/draeger-PCD04_alarm.txt",
    "cfdad32b0c13994981bae6ee714a6bfab140bbf51c4ce357841ce6d6548ca703",
)
MDIL = {"0002-4182": Param.HR, "0002-4bb8": Param.SPO2, "0002-4822": Param.PULSE}


def test_philips_information_center_hl7_in_mdil_codes() -> None:
    """A Philips sender's ORU^R01 messages (HL7 2.3, codes in MDIL notation): the source's
    first message holds HR 91, the second pulse 64, HR 66 and SpO2 96; every HR, SpO2 and
    pulse OBX of the file becomes a reading, every other OBX is counted by kind."""
    text = external(*PHILIPS)
    adapter, readings = decode("hl7-mllp", frame_text(text))
    first_two = [(r.param, r.value) for r in readings[:4]]
    assert first_two == [(Param.HR, 91), (Param.PULSE, 64), (Param.HR, 66), (Param.SPO2, 96)]
    wanted = rb"OBX\|\|NM\|(0002-4182|0002-4bb8|0002-4822)\^[^|]*\|0\|([\d.]+)\|"
    expected = [(MDIL[code.decode()], float(value)) for code, value in re.findall(wanted, text)]
    assert [(r.param, r.value) for r in readings] == expected
    assert all(r.quality is Quality.OK for r in readings)
    assert adapter.counts.frames_bad == 0
    assert adapter.counts.frames_ok == text.count(b"MSH|")
    assert set(adapter.counts.unused) == {
        "OBX 0402-f8f5 sMode",
        "OBX 0002-0302 ST-II",
        "OBX 0002-4261 PVC",
        "OBX 0002-500a RR",
        "OBX 0002-4b48 Temp",
        "OBX 0002-4b60 Tcore",
        "OBX 0002-4bb0 Perf",
        "OBX 0002-d006 EctSta",
        "OBX 0002-d007 RhySta",
    }


@pytest.mark.parametrize("vector", [MINDRAY_ALARM, DRAEGER_ALARM], ids=["mindray", "draeger"])
def test_alarm_reports_are_acknowledged_and_counted_never_read_as_vitals(vector) -> None:
    """IHE PCD-04 alarm reports (ORU^R40): Mindray's lead-off alarm from an HDU bed, Draeger's
    reference message; neither holds a vital sign to store."""
    adapter, readings = decode("hl7-mllp", frame_text(external(*vector)))
    assert readings == [] and adapter.counts.unused == {"message ORU^R40": 1}
    assert b"MSA|AA" in adapter.take_output()


@pytest.mark.parametrize(
    "vector", [PHILIPS, MINDRAY_ALARM, DRAEGER_ALARM], ids=["philips", "mindray", "draeger"]
)
def test_hl7_vectors_read_the_same_at_any_chunking(vector) -> None:
    data = frame_text(external(*vector))

    @SMALL
    @given(st.integers(0, 2**32))
    def chunked(seed: int) -> None:
        same_at_any_chunking("hl7-mllp", data, seed)

    chunked()


# -- Masimo Radical-7 / Rad-8 (serial ASCII 1) ----------------------------------------------

MASIMO_EXAMPLES = COMMITTED / "masimo-ascii" / "nmenon-masimo-datacapture-examples.txt"
PULSEOX = (
    "masimo-ascii/yahnatan-pulseox-README.md",
    "930cf5a583c44a46f289d83c567a914aaf63bf52fe058a1540747d7398494057",
)


def test_masimo_example_lines_of_three_models() -> None:
    """Rad-8 without a sensor (EXC 001): no values; Rad-7 colour with SpO2 98 %, pulse 123
    and low signal IQ (EXC C00): values kept, invalid; Radical-7 with dashes: no values."""
    adapter, readings = decode("masimo-ascii", MASIMO_EXAMPLES.read_bytes())
    assert [(r.param, r.value, r.quality) for r in readings] == [
        (Param.SPO2, None, Quality.INVALID),
        (Param.PULSE, None, Quality.INVALID),
        (Param.SPO2, 98, Quality.INVALID),
        (Param.PULSE, 123, Quality.INVALID),
        (Param.SPO2, None, Quality.INVALID),
        (Param.PULSE, None, Quality.INVALID),
    ]
    assert (adapter.counts.frames_ok, adapter.counts.frames_bad) == (3, 0)
    assert adapter.counts.unused == {"field PI": 1}


def test_rad8_at_home_prints_five_seconds_of_a_calm_patient() -> None:
    """A Rad-8's output as the README shows it: SpO2 98 % and pulse 97, 96, 96, 96, 97 with
    the SET flag only (EXC 000800): five good lines."""
    lines = [
        line for line in external(*PULSEOX).splitlines() if re.match(rb"\d\d/\d\d/\d\d ", line)
    ]
    adapter, readings = decode("masimo-ascii", b"".join(line + b"\r\n" for line in lines))
    assert values(readings, Param.SPO2) == [98] * 5
    assert values(readings, Param.PULSE) == [97, 96, 96, 96, 97]
    assert {r.quality for r in readings} == {Quality.OK}
    assert adapter.counts.unused == {"field PI": 5}


@SMALL
@given(st.integers(0, 2**32))
def test_masimo_examples_read_the_same_at_any_chunking(seed: int) -> None:
    same_at_any_chunking("masimo-ascii", MASIMO_EXAMPLES.read_bytes() * 4, seed)


def test_the_corpus_spans_five_makers_and_four_protocols() -> None:
    """Kept true as files are added: the README lists each with its maker and protocol."""
    readme = (COMMITTED / "README.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \|", readme, flags=re.M)
    makers = Counter(maker.strip() for _, maker, _ in rows)
    protocols = {protocol.strip() for _, _, protocol in rows}
    assert len(makers) >= 5 and protocols == {"ge-s5", "hl7-mllp", "intellivue", "masimo-ascii"}
