"""Standard codes for Chairside's parameters, shared by every exchange format.

LOINC codes as the FHIR vital-signs profile uses them; ISO/IEEE 11073-10101 (MDC) codes as
IHE PCD-01 HL7 messages carry them; UCUM units. ``LOINC``, ``MDC`` and ``UCUM`` are what
Chairside itself sends; ``MDC_RECEIVED`` and ``UNITS_RECEIVED`` are every form in which
monitors are known to send the same things, so a receiver accepts them all.

An MDC code is a number: partition × 65536 + term code (ECG heart rate is partition 2, term
0x4182 = 16770, so 147842). Philips writes the same pair as ``0002-4182`` (coding system
MDIL) and units as ``0004-0f20``; ``mdc_number`` turns that notation into the number.
"""

from __future__ import annotations

import re

from vitals.reading import Param

LOINC: dict[Param, tuple[str, str]] = {
    Param.HR: ("8867-4", "Heart rate"),
    Param.PULSE: ("8889-8", "Heart rate by Pulse oximetry"),
    Param.SBP: ("8480-6", "Systolic blood pressure"),
    Param.DBP: ("8462-4", "Diastolic blood pressure"),
    Param.MAP: ("8478-0", "Mean blood pressure"),
    Param.SPO2: ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")

MDC: dict[Param, tuple[str, str]] = {
    Param.HR: ("147842", "MDC_ECG_HEART_RATE"),
    Param.PULSE: ("149530", "MDC_PULS_OXIM_PULS_RATE"),
    Param.SPO2: ("150456", "MDC_PULS_OXIM_SAT_O2"),
    Param.SBP: ("150021", "MDC_PRESS_BLD_NONINV_SYS"),
    Param.DBP: ("150022", "MDC_PRESS_BLD_NONINV_DIA"),
    Param.MAP: ("150023", "MDC_PRESS_BLD_NONINV_MEAN"),
}

UCUM: dict[Param, str] = {
    Param.HR: "/min",
    Param.PULSE: "/min",
    Param.SBP: "mm[Hg]",
    Param.DBP: "mm[Hg]",
    Param.MAP: "mm[Hg]",
    Param.SPO2: "%",
}

# (number, reference id or "" where no source names it, parameter). Sources: IEEE
# 11073-10101 as the IHE PCD Rosetta Terminology Mapping lists it; Philips' Data Export
# nomenclature (NOM_ codes are the same term codes in partition 2); messages published by
# Mindray, Comen and GE senders (tests/vectors/README.md).
MDC_RECEIVED: tuple[tuple[str, str, Param], ...] = (
    ("147842", "MDC_ECG_HEART_RATE", Param.HR),
    ("147842", "MDC_ECG_CARD_BEAT_RATE", Param.HR),  # the 11073 base name of the same code
    ("149514", "MDC_PULS_RATE", Param.PULSE),  # Philips NOM_PULS_RATE 0x480A
    ("149522", "MDC_BLD_PULS_RATE_INV", Param.PULSE),  # GE's name; Comen sends it as PULS_RATE
    ("149530", "MDC_PULS_OXIM_PULS_RATE", Param.PULSE),
    ("149538", "", Param.PULSE),  # Philips NOM_PULS_OXIM_PULS_RATE 0x4822 (pleth pulse)
    ("149546", "MDC_PULS_RATE_NON_INV", Param.PULSE),  # pulse rate from the NIBP cuff
    ("150456", "MDC_PULS_OXIM_SAT_O2", Param.SPO2),
    ("150021", "MDC_PRESS_BLD_NONINV_SYS", Param.SBP),
    ("150022", "MDC_PRESS_BLD_NONINV_DIA", Param.DBP),
    ("150023", "MDC_PRESS_BLD_NONINV_MEAN", Param.MAP),
    # The cuff family, as Mindray, Comen and other outpatient vitals monitors send NIBP
    ("150301", "MDC_PRESS_CUFF_SYS", Param.SBP),
    ("150302", "MDC_PRESS_CUFF_DIA", Param.DBP),
    ("150303", "MDC_PRESS_CUFF_MEAN", Param.MAP),
)

MMHG_PER_KPA = 7.500616827

# Unit token (case-insensitive) → (canonical unit as vitals.reading.UNITS names it, factor).
# Each unit is listed as UCUM, as its MDC reference id, by full MDC number and by its short
# term code.
UNITS_RECEIVED: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("mm[hg]", "mmhg", "mdc_dim_mmhg", "266016", "3872"), ("mmHg", 1.0)),
    **dict.fromkeys(("kpa", "mdc_dim_kilo_pascal", "265987", "3843"), ("mmHg", MMHG_PER_KPA)),
    **dict.fromkeys(
        (
            "/min",
            "1/min",
            "{beat}/min",
            "{beats}/min",
            "bpm",
            "mdc_dim_beat_per_min",
            "264864",
            "2720",
        ),
        ("bpm", 1.0),
    ),
    **dict.fromkeys(("%", "mdc_dim_percent", "262688", "544"), ("%", 1.0)),
}

_MDIL = re.compile(r"^([0-9a-fA-F]{4})-([0-9a-fA-F]{4})$")


def mdc_number(code: str) -> str:
    """``0002-4182`` (Philips MDIL partition-term notation) → ``147842``; other codes as given."""
    match = _MDIL.match(code)
    if match is None:
        return code
    partition, term = (int(part, 16) for part in match.groups())
    return str(partition << 16 | term)
