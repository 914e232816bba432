"""What one OBX segment means for Chairside: a reading, a marked one, or something counted
as received but not used.

An OBX is read by its code (OBX-3: identifier, text, and the alternate identifier and text)
through the chair's own codes, then the dialect's, then the standard ones (LOINC and MDC,
vitals/codes.py). Then, in this order:

- demo, test or simulation data — marked in OBX-8 (abnormal flags / measurement status),
  OBX-11 (result status) or MSH-11 (processing id T or D) — is stored ``invalid``, without
  a number, and counted with where the mark was;
- a result status other than final, corrected, unverified or preliminary is ``invalid``;
  an 11073 measurement status "questionable" is ``artifact``, "invalid" or
  "not-available" ``invalid``;
- a value that is not a finite number, a negative one (no heart rate, pressure or
  saturation is) or the dialect's own "no value" number is stored without a number;
- the unit (OBX-6, any of its forms in vitals/codes.py) is converted; a unit that does not
  fit the parameter makes the reading ``invalid``. No unit means the canonical one.

Sources: HL7 v2.6 chapter 7 (OBX), IHE PCD TF vol. 2 (OBX-8 measurement status, OBX-11),
HL7 table 0103 (processing id).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from devices.hl7_dialects import DIALECTS, Dialect
from vitals.codes import LOINC, MDC_RECEIVED, UNITS_RECEIVED, mdc_number
from vitals.errors import ConfigError
from vitals.reading import UNITS, Param, Quality, Reading

STANDARD_CODES: dict[str, Param] = (
    {code: param for param, (code, _) in LOINC.items()}
    | {"2708-6": Param.SPO2}  # SpO2 as some gateways code it (arterial O2 saturation)
    | {number: param for number, _, param in MDC_RECEIVED}
    | {name: param for _, name, param in MDC_RECEIVED if name}
)
FINAL_STATUSES = {"F", "C", "R", "P", ""}
DEMO_MARKS = {"demo", "demo-data", "test", "test-data", "simulation", "simulated", "sim-data"}
INVALID_MARKS = {"invalid", "not-available", "unavailable"}
QUESTIONABLE_MARKS = {"questionable"}
NOT_PRODUCTION = {"T": "training", "D": "debugging"}  # MSH-11, HL7 table 0103
MAX_TEXT = 40  # of device text quoted in a kind
DEMO_KIND = "demo or test data"


@dataclass(frozen=True)
class Obx:
    """The OBX fields Chairside reads, each split into its components."""

    code: tuple[str, ...]  # OBX-3
    value: str  # OBX-5, first repetition, first component
    value_type: str  # OBX-2
    units: tuple[str, ...]  # OBX-6
    marks: tuple[str, ...]  # OBX-8, every repetition and component
    status: str  # OBX-11

    @classmethod
    def of(cls, fields: list[str]) -> Obx:
        """From the segment's fields as text (index 0 is "OBX")."""

        def get(i: int) -> str:
            return fields[i].strip() if len(fields) > i else ""

        marks = [c.strip() for rep in get(8).split("~") for c in rep.split("^") if c.strip()]
        return cls(
            code=tuple(c.strip() for c in get(3).split("^")),
            value=get(5).split("~")[0].split("^")[0].strip(),
            value_type=get(2),
            units=tuple(c.strip() for c in get(6).split("^")),
            marks=tuple(marks),
            status=get(11),
        )

    def name(self) -> str:
        """The code as a person reads it: identifier and text, shortened."""
        shown = " ".join(part for part in self.code[:2] if part) or "without a code"
        return shown[:MAX_TEXT]


class ObservationReader:
    """Turns OBX segments into readings for one chair's codes and dialect."""

    def __init__(self, dialect: str = "standard", codes: Mapping[str, object] | None = None):
        self.dialect = _dialect(dialect)
        self.codes = STANDARD_CODES | dict(self.dialect.codes) | _vendor_codes(codes or {})

    def param(self, obx: Obx) -> Param | None:
        for index in (0, 1, 3, 4):
            if len(obx.code) > index and obx.code[index]:
                found = self.codes.get(mdc_number(obx.code[index]))
                if found is not None:
                    return found
        return None

    def read(
        self, obx: Obx, observed: datetime | None, not_production: str = ""
    ) -> tuple[Reading | None, str]:
        """The reading (or None) and, when something was not used, what kind it was."""
        param = self.param(obx)
        if param is None:
            if not (obx.value or obx.value_type):
                return None, "OBX without a value (device or channel header)"
            return None, f"OBX {obx.name()}"
        no_value = Reading(param, None, Quality.INVALID, observed)
        mark = _demo_mark(obx, not_production)
        if mark:
            return no_value, f"{DEMO_KIND} ({mark})"
        if not obx.value:
            return no_value, ""  # "no value" said plainly, e.g. result status X
        try:
            value = float(obx.value)
        except ValueError:
            return no_value, f"{param.value} value not a number"
        if not math.isfinite(value) or value < 0 or value in self.dialect.no_value:
            return no_value, f"'no value' marker {obx.value[:MAX_TEXT]} for {param.value}"
        factor = _factor(param, obx.units)
        if factor is None:
            unit = " ".join(u for u in obx.units[:2] if u)[:MAX_TEXT]
            return no_value, f"{param.value} in unit {unit}"
        return Reading(param, round(value * factor, 2), _quality(obx), observed), ""


def _dialect(name: str) -> Dialect:
    if not isinstance(name, str) or name not in DIALECTS:
        raise ConfigError(
            f"hl7-mllp: unknown dialect {name!r}; known: {', '.join(sorted(DIALECTS))}"
        )
    return DIALECTS[name]


def _vendor_codes(vendor: object) -> dict[str, Param]:
    if not isinstance(vendor, Mapping):
        raise ConfigError(f"hl7-mllp: codes must be a table of code = parameter, got {vendor!r}")
    try:
        return {str(code): Param(param) for code, param in vendor.items()}
    except ValueError as exc:
        raise ConfigError(
            f"hl7-mllp: {exc}; parameters: {', '.join(p.value for p in Param)}"
        ) from None


def _normal(mark: str) -> str:
    return mark.strip().lower().replace("_", "-").replace(" ", "-")


def _demo_mark(obx: Obx, not_production: str) -> str:
    for mark in obx.marks:
        if _normal(mark) in DEMO_MARKS:
            return f"OBX-8 {mark[:MAX_TEXT]}"
    if _normal(obx.status) in DEMO_MARKS:
        return f"OBX-11 {obx.status[:MAX_TEXT]}"
    if not_production in NOT_PRODUCTION:
        return f"MSH-11 {not_production}, {NOT_PRODUCTION[not_production]}"
    return ""


def _quality(obx: Obx) -> Quality:
    marks = {_normal(m) for m in obx.marks}
    if obx.status not in FINAL_STATUSES or marks & INVALID_MARKS:
        return Quality.INVALID
    if marks & QUESTIONABLE_MARKS:
        return Quality.ARTIFACT
    return Quality.OK


def _factor(param: Param, units: tuple[str, ...]) -> float | None:
    """Factor to the parameter's canonical unit; None when the unit does not fit it."""
    given = [u for u in units[:2] if u]
    if not given:
        return 1.0
    for unit in given:
        known = UNITS_RECEIVED.get(mdc_number(unit).lower())
        if known is not None:
            canonical, factor = known
            return factor if canonical == UNITS[param] else None
    return None
