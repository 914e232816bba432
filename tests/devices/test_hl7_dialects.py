"""HL7 as monitors really send it: both NIBP code families, pulse from every source, units
in every form, demo data, vendor "no value" numbers, dialect presets, nothing dropped
silently. The messages follow the published ones in tests/vectors/ (field for field); the
values are the tests' own."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.hl7_mllp import Hl7MllpAdapter, frame, frame_text
from vitals.errors import ConfigError
from vitals.reading import Param, Quality

MSH = "MSH|^~\\&|MONITOR^00A037009B000000^EUI-64||||20260301090000+0100||ORU^R01^ORU_R01|41|P|2.6\r"


def obx(code: str, value: str, unit: str = "", flags: str = "", status: str = "F") -> str:
    return f"OBX|1|NM|{code}|1.1.9.1|{value}|{unit}||{flags}|||{status}\r"


def read(*segments: str, msh: str = MSH, **options) -> tuple[Hl7MllpAdapter, dict]:
    adapter = Hl7MllpAdapter(options)
    readings = adapter.feed(frame(msh + "".join(segments)))
    return adapter, {r.param: r for r in readings}


@pytest.mark.parametrize(
    ("code", "param"),
    [
        ("150301^MDC_PRESS_CUFF_SYS^MDC", Param.SBP),
        ("150302^MDC_PRESS_CUFF_DIA^MDC", Param.DBP),
        ("150303^MDC_PRESS_CUFF_MEAN^MDC", Param.MAP),
        ("150021^MDC_PRESS_BLD_NONINV_SYS^MDC", Param.SBP),
        ("^MDC_PRESS_CUFF_SYS^MDC", Param.SBP),  # by name alone
        ("150023", Param.MAP),  # by number alone
        ("147842^MDC_ECG_HEART_RATE^MDC", Param.HR),
        ("147842^MDC_ECG_CARD_BEAT_RATE^MDC", Param.HR),
        ("149530^MDC_PULS_OXIM_PULS_RATE^MDC", Param.PULSE),
        ("149546^MDC_PULS_RATE_NON_INV^MDC", Param.PULSE),
        ("149522^MDC_PULS_RATE^MDC", Param.PULSE),  # as Comen names it
        ("149514^MDC_PULS_RATE^MDC", Param.PULSE),
        ("150456^MDC_PULS_OXIM_SAT_O2^MDC", Param.SPO2),
        ("0002-4182^HR^MDIL", Param.HR),  # Philips' notation of 147842
        ("0002-4bb8^SpO2^MDIL", Param.SPO2),
        ("0002-4822^Pulse (SpO2)^MDIL", Param.PULSE),
        ("0002-4a05^NBPs^MDIL", Param.SBP),
        ("X1^vendor^99V^8480-6^Systolic^LN", Param.SBP),  # the alternate identifier
    ],
)
def test_every_code_family_monitors_use(code: str, param: Param) -> None:
    adapter, found = read(obx(code, "99"))
    assert found[param].value == 99.0 and found[param].quality is Quality.OK
    assert adapter.counts.unused == {}


@pytest.mark.parametrize(
    ("sent", "unit", "value"),
    [
        ("120", "266016^MDC_DIM_MMHG^MDC", 120.0),
        ("120", "3872^MDC_DIM_MMHG^MDC", 120.0),  # the short term code
        ("120", "mm[Hg]^mm[Hg]^UCUM", 120.0),
        ("120", "0004-0f20^mmHg^MDIL", 120.0),
        ("16.0", "265987^MDC_DIM_KILO_PASCAL^MDC", 120.01),  # the full MDC code for kPa
        ("16.0", "3843^MDC_DIM_KILO_PASCAL^MDC", 120.01),
        ("16.0", "kPa^^UCUM", 120.01),
        ("120", "", 120.0),  # no unit: the canonical one
    ],
)
def test_units_in_every_form(sent: str, unit: str, value: float) -> None:
    _, found = read(obx("150301^MDC_PRESS_CUFF_SYS^MDC", sent, unit))
    assert found[Param.SBP].value == value


def test_a_unit_that_does_not_fit_is_invalid_and_said() -> None:
    adapter, found = read(obx("150301^MDC_PRESS_CUFF_SYS^MDC", "120", "262688^MDC_DIM_PERCENT^MDC"))
    assert (found[Param.SBP].value, found[Param.SBP].quality) == (None, Quality.INVALID)
    assert adapter.counts.unused == {"sbp in unit 262688 MDC_DIM_PERCENT": 1}


@pytest.mark.parametrize(
    ("segment", "msh", "where"),
    [
        (obx("150456^MDC_PULS_OXIM_SAT_O2^MDC", "100", flags="DEMO"), MSH, "OBX-8 DEMO"),
        (obx("150456", "100", flags="N~demo-data"), MSH, "OBX-8 demo-data"),
        (obx("150456", "100", flags="test-data"), MSH, "OBX-8 test-data"),
        (obx("150456", "100", status="SIMULATION"), MSH, "OBX-11 SIMULATION"),
        (obx("150456", "100"), MSH.replace("|41|P|", "|41|T|"), "MSH-11 T, training"),
        (obx("150456", "100"), MSH.replace("|41|P|", "|41|D|"), "MSH-11 D, debugging"),
    ],
)
def test_demo_test_and_simulation_data_are_never_stored_as_real(segment, msh, where) -> None:
    adapter, found = read(segment, msh=msh)
    assert (found[Param.SPO2].value, found[Param.SPO2].quality) == (None, Quality.INVALID)
    assert adapter.counts.unused == {f"demo or test data ({where})": 1}
    assert (
        adapter.counts.last_error
        == f"the monitor sends demo or test data ({where}), not a patient's"
    )


@pytest.mark.parametrize("sentinel", ["-999", "-100", "-1", "-99.9", "NaN"])
def test_no_value_numbers_leave_as_no_value(sentinel: str) -> None:
    adapter, found = read(obx("150301^MDC_PRESS_CUFF_SYS^MDC", sentinel, "266016"))
    assert (found[Param.SBP].value, found[Param.SBP].quality) == (None, Quality.INVALID)
    assert adapter.counts.unused == {f"'no value' marker {sentinel} for sbp": 1}


@pytest.mark.parametrize(
    ("flags", "status", "quality"),
    [
        ("questionable", "F", Quality.ARTIFACT),
        ("invalid", "F", Quality.INVALID),
        ("H", "R", Quality.OK),  # a range flag says nothing against the value
        ("", "X", Quality.INVALID),
    ],
)
def test_measurement_status_and_result_status(flags: str, status: str, quality) -> None:
    _, found = read(obx("147842", "80", flags=flags, status=status))
    assert found[Param.HR].quality is quality


def test_mindray_dialect_reads_mindrays_own_parameter_numbers() -> None:
    pds = "MSH|^~\\&|||||||ORU^R01|204|P|2.3.1|\r"
    segments = (
        "OBX||NM|101^HR|2101|60||||||F\r",
        "OBX||NM|160^SpO2|2103|98||||||F\r",
        "OBX||NM|161^PR|2103|61||||||F\r",
        "OBX||NM|170^Sys|2105|120||||||F\r",
        "OBX||NM|171^Dia|2105|-100||||||F\r",
        "OBX||NM|151^RR|2102|20||||||F\r",
    )
    adapter, found = read(*segments, msh=pds, dialect="mindray")
    values = {p: r.value for p, r in found.items()}
    assert values == {
        Param.HR: 60,
        Param.SPO2: 98,
        Param.PULSE: 61,
        Param.SBP: 120,
        Param.DBP: None,
    }
    assert adapter.counts.unused == {"OBX 151 RR": 1, "'no value' marker -100 for dbp": 1}
    plain, nothing = read(*segments, msh=pds)  # without the preset: counted, never guessed
    assert nothing == {} and plain.counts.unused["OBX 170 Sys"] == 1


def test_unknown_dialect_and_bad_codes_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown dialect 'drager'; known: mindray, standard"):
        Hl7MllpAdapter({"dialect": "drager"})
    with pytest.raises(ConfigError, match="codes must be a table"):
        Hl7MllpAdapter({"codes": ["150301"]})


def test_other_messages_and_codes_are_counted_never_dropped_silently() -> None:
    adapter = Hl7MllpAdapter()
    alarm = MSH.replace("ORU^R01^ORU_R01", "ORU^R40^ORU_R40")
    temperature = obx("150344^MDC_TEMP^MDC", "36.6", "268192^MDC_DIM_DEGC^MDC")
    header = "OBX|1||69837^MDC_DEV_METER_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X\r"
    adapter.feed(frame(alarm + temperature))
    adapter.feed(frame(MSH + temperature + header) * 2)
    adapter.feed(frame(MSH.replace("ORU^R01^ORU_R01", "ADT^A01")))
    adapter.feed(frame(MSH))
    assert adapter.counts.unused == {
        "message ORU^R40": 1,
        "OBX 150344 MDC_TEMP": 2,
        "OBX without a value (device or channel header)": 2,
        "message ADT^A01": 1,
        "ORU^R01 without observations": 1,
    }
    assert adapter.counts.frames_ok == 5 and adapter.counts.frames_bad == 0


def test_a_resent_measurement_is_counted_as_stored_once() -> None:
    timed = obx("150301", "120").replace("|||F\r", "|||F|||20260301085500+0100\r")
    adapter = Hl7MllpAdapter()
    assert len(adapter.feed(frame(MSH + timed) * 2)) == 1
    assert adapter.counts.unused == {"sbp resent with the same time (stored once)": 1}


cuff = st.integers(30, 250).map(str) | st.sampled_from(["-999", "-100", "abc", ""])


@given(st.lists(cuff, min_size=1, max_size=6), st.data())
def test_any_chunking_reads_the_same(values: list[str], data) -> None:
    stream = b"".join(
        frame(MSH + obx("150301^MDC_PRESS_CUFF_SYS^MDC", v, "266016", "DEMO" if i % 3 else ""))
        for i, v in enumerate(values)
    )
    whole = Hl7MllpAdapter()
    expected = whole.feed(stream)
    adapter, got, at = Hl7MllpAdapter(), [], 0
    while at < len(stream):
        size = data.draw(st.integers(1, 97))
        got += adapter.feed(stream[at : at + size])
        at += size
    assert got == expected and adapter.counts.unused == whole.counts.unused


def test_published_plain_text_is_framed_as_it_travels() -> None:
    text = (MSH + obx("150301", "120")).replace("\r", "\r\n") + "\n" + MSH + obx("150302", "80")
    framed = frame_text(text.encode())
    assert framed.count(b"\x0b") == 2 and framed.count(b"\x1c\r") == 2
    readings = Hl7MllpAdapter().feed(framed)
    assert [(r.param, r.value) for r in readings] == [(Param.SBP, 120), (Param.DBP, 80)]
