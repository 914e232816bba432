"""A recording as HL7 v2 ORU^R01 messages or as a FHIR R4 Bundle of vital-sign Observations.

Only ``ok`` readings are exported here: these formats feed other clinical systems, which must
not receive values Chairside itself judged invalid (they stay in the store and in CSV).
Readings taken at one moment go together: one ORU^R01 per moment, and in FHIR one
Observation per parameter, with systolic, diastolic and mean NIBP as the components of one
blood-pressure panel, as the FHIR vital-signs profile asks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from itertools import groupby
from typing import Any

from vitals.codes import BP_PANEL, LOINC, UCUM
from vitals.exchange.progress import Progress, tracked
from vitals.reading import NIBP_PARAMS, Quality, Reading
from vitals.times import iso_utc

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


def _moments(readings: Iterable[Reading]) -> list[tuple[datetime, list[Reading]]]:
    valid = [r for r in readings if r.quality is Quality.OK and r.value is not None]
    valid.sort(key=lambda r: r.time)
    return [(time, list(group)) for time, group in groupby(valid, key=lambda r: r.time)]


def hl7_messages(
    readings: Iterable[Reading],
    patient: str,
    device: str = "CHAIRSIDE",
    progress: Progress | None = None,
) -> list[str]:
    """One ORU^R01 (v2.6, LOINC-coded OBX) per moment; segments end with CR."""
    messages = []
    moments = tracked(_moments(readings), "HL7 messages", progress)
    for number, (time, group) in enumerate(moments, start=1):
        stamp = time.strftime("%Y%m%d%H%M%S+0000")
        segments = [
            f"MSH|^~\\&|CHAIRSIDE|{device}|||{stamp}||ORU^R01^ORU_R01|CS{number:08d}|P|2.6",
            f"PID|||{patient}",
            f"OBR|1|||{BP_PANEL[0]}^{BP_PANEL[1]}^LN|||{stamp}",
        ]
        for index, r in enumerate(group, start=1):
            code, name = LOINC[r.param]
            segments.append(
                f"OBX|{index}|NM|{code}^{name}^LN||{r.value:g}|{UCUM[r.param]}^^UCUM|||||F|||{stamp}"
            )
        messages.append("\r".join(segments) + "\r")
    return messages


def fhir_bundle(
    readings: Iterable[Reading], patient: str, progress: Progress | None = None
) -> dict[str, Any]:
    """A FHIR R4 collection Bundle of vital-sign Observations for one pseudonymous patient."""
    entries = []
    for time, group in tracked(_moments(readings), "FHIR observations", progress):
        nibp = [r for r in group if r.param in NIBP_PARAMS]
        if nibp:
            entries.append(_observation(BP_PANEL, time, patient, components=nibp))
        entries += [
            _observation(LOINC[r.param], time, patient, value=r) for r in group if r not in nibp
        ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:chairside-{i}", "resource": resource}
            for i, resource in enumerate(entries, start=1)
        ],
    }


def _observation(
    code: tuple[str, str],
    time: datetime,
    patient: str,
    value: Reading | None = None,
    components: list[Reading] | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [VITAL_SIGNS],
        "code": _concept(code),
        "subject": {"identifier": {"value": patient}, "display": f"pseudonymous {patient}"},
        "effectiveDateTime": iso_utc(time),
    }
    if value is not None:
        resource["valueQuantity"] = _quantity(value)
    if components:
        resource["component"] = [
            {"code": _concept(LOINC[r.param]), "valueQuantity": _quantity(r)} for r in components
        ]
    return resource


def _concept(code: tuple[str, str]) -> dict[str, Any]:
    return {"coding": [{"system": "http://loinc.org", "code": code[0], "display": code[1]}]}


def _quantity(r: Reading) -> dict[str, Any]:
    unit = UCUM[r.param]
    return {
        "value": r.value,
        "unit": UNIT_NAMES[unit],
        "system": "http://unitsofmeasure.org",
        "code": unit,
    }


def fhir_json(bundle: dict[str, Any]) -> str:
    return json.dumps(bundle, indent=2)
