"""A recording as HL7 v2 ORU^R01 messages or as a FHIR R4 Bundle of vital-sign Observations.

Only ``ok`` readings are exported here: these formats feed other clinical systems, which must
not receive values Chairside itself judged invalid (they stay in the store and in CSV).
Readings taken at one moment go together: one ORU^R01 per moment, and in FHIR one
Observation per parameter, with systolic, diastolic and mean NIBP as the components of one
blood-pressure panel, as the FHIR vital-signs profile asks.

Both are written as they are made, moment by moment, from readings streamed out of the store:
a day at 1 Hz is a quarter of a million observations, and neither the readings nor the bundle
are ever held in memory whole. An Observation's JSON differs from the next one of the same
parameter only in its number, time and value, so each shape is serialised once (by ``json``,
from the same dictionaries as ever) and then filled in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import groupby
from typing import Any, TextIO

from vitals.codes import BP_PANEL, LOINC, UCUM
from vitals.reading import NIBP_PARAMS, Param
from vitals.times import from_us, iso_utc

UNIT_NAMES = {"/min": "beats/minute", "mm[Hg]": "mmHg", "%": "%"}
VITAL_SIGNS = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}
ORDER = {param: index for index, param in enumerate(Param)}  # hr, pulse, sbp, dbp, map, spo2

Moment = tuple[int, list[tuple[Param, float]]]  # t_us, the (parameter, value) measured then


def moments(rows: Iterable[tuple[int, Param, float]]) -> Iterator[Moment]:
    """(t_us, param, value) rows in time order, grouped into moments, parameters in order."""
    for t_us, group in groupby(rows, key=lambda row: row[0]):
        yield t_us, sorted(((p, v) for _, p, v in group), key=lambda pv: ORDER[pv[0]])


def write_hl7(
    stream: Iterable[Moment], patient: str, out: TextIO, device: str = "CHAIRSIDE"
) -> int:
    """One ORU^R01 (v2.6, LOINC-coded OBX) per moment, segments ending with CR, messages
    separated by LF; returns the number of messages."""
    count = 0
    for count, (t_us, group) in enumerate(stream, start=1):
        if count > 1:
            out.write("\n")
        out.write(hl7_message(count, t_us, group, patient, device))
    return count


def hl7_message(
    number: int, t_us: int, group: list[tuple[Param, float]], patient: str, device: str
) -> str:
    stamp = from_us(t_us).strftime("%Y%m%d%H%M%S+0000")
    segments = [
        f"MSH|^~\\&|CHAIRSIDE|{device}|||{stamp}||ORU^R01^ORU_R01|CS{number:08d}|P|2.6",
        f"PID|||{patient}",
        f"OBR|1|||{BP_PANEL[0]}^{BP_PANEL[1]}^LN|||{stamp}",
    ]
    for index, (param, value) in enumerate(group, start=1):
        code, name = LOINC[param]
        segments.append(
            f"OBX|{index}|NM|{code}^{name}^LN||{value:g}|{UCUM[param]}^^UCUM|||||F|||{stamp}"
        )
    return "\r".join(segments) + "\r"


def write_fhir(stream: Iterable[Moment], patient: str, out: TextIO) -> int:
    """A FHIR R4 collection Bundle of vital-sign Observations for one pseudonymous patient, one
    entry a line; returns the number of entries."""
    shapes = _Shapes(patient)
    out.write('{"resourceType": "Bundle", "type": "collection", "entry": [')
    count = 0
    for t_us, group in stream:
        time = json.dumps(iso_utc(from_us(t_us)))
        nibp = [(p, v) for p, v in group if p in NIBP_PARAMS]
        entries = [(tuple(p for p, _ in nibp), [v for _, v in nibp])] if nibp else []
        entries += [(p, [v]) for p, v in group if p not in NIBP_PARAMS]
        for shape, values in entries:
            count += 1
            out.write(",\n" if count > 1 else "\n")
            out.write(shapes.entry(count, time, shape, values))
    out.write("\n]}\n")
    return count


class _Shapes:
    """Each entry's JSON with holes for its number, time and values, made once per shape (a
    parameter, or the set of NIBP values a panel carries) from the dictionaries below."""

    HOLE = "\x00hole\x00"

    def __init__(self, patient: str) -> None:
        self.patient = patient
        self.made: dict[Param | tuple[Param, ...], str] = {}

    def entry(
        self, number: int, time: str, shape: Param | tuple[Param, ...], values: list[float]
    ) -> str:
        template = self.made.get(shape) or self._make(shape)
        return template % (number, time, *(repr(float(v)) for v in values))

    def _make(self, shape: Param | tuple[Param, ...]) -> str:
        hole = self.HOLE
        if isinstance(shape, tuple):
            parts = [(p, hole) for p in shape]
            resource = _observation(BP_PANEL, hole, self.patient, components=parts)
        else:
            resource = _observation(LOINC[shape], hole, self.patient, value=(shape, hole))
        entry = {"fullUrl": f"urn:uuid:chairside-{hole}", "resource": resource}
        text = json.dumps(entry).replace("%", "%%")
        escaped = json.dumps(hole)[1:-1]
        text = text.replace(f"chairside-{escaped}", "chairside-%d")
        text = text.replace(f'"{escaped}"', "%s")
        self.made[shape] = text
        return text


def _observation(
    code: tuple[str, str],
    time: str,
    patient: str,
    value: tuple[Param, Any] | None = None,
    components: list[tuple[Param, Any]] | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [VITAL_SIGNS],
        "code": _concept(code),
        "subject": {"identifier": {"value": patient}, "display": f"pseudonymous {patient}"},
        "effectiveDateTime": time,
    }
    if value is not None:
        resource["valueQuantity"] = _quantity(*value)
    if components:
        resource["component"] = [
            {"code": _concept(LOINC[p]), "valueQuantity": _quantity(p, v)} for p, v in components
        ]
    return resource


def _concept(code: tuple[str, str]) -> dict[str, Any]:
    return {"coding": [{"system": "http://loinc.org", "code": code[0], "display": code[1]}]}


def _quantity(param: Param, value: Any) -> dict[str, Any]:
    unit = UCUM[param]
    return {
        "value": value,
        "unit": UNIT_NAMES[unit],
        "system": "http://unitsofmeasure.org",
        "code": unit,
    }
