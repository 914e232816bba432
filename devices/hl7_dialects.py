"""Known HL7 dialects of vital-signs senders, named so a chair's config can say
``dialect = "mindray"`` instead of listing vendor codes by hand.

The standard form needs no preset: IHE PCD-01 senders (Mindray's and Comen's IHE profiles,
GE, Philips' MDIL notation, most gateways) are read from their LOINC or MDC codes, both
NIBP families included. A preset adds what only one vendor means by a code: numbers that
would mean something else from another sender, and that vendor's "no value" numbers beyond
the negative ones every sender's are taken to be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vitals.reading import Param


@dataclass(frozen=True)
class Dialect:
    name: str
    senders: str  # who speaks it, for the README and error messages
    source: str  # where the codes come from
    codes: Mapping[str, Param] = field(default_factory=dict)
    no_value: frozenset[float] = frozenset()  # besides every negative number


STANDARD = Dialect(
    "standard",
    "IHE PCD-01 senders: LOINC or ISO/IEEE 11073 MDC codes (numbers, names, Philips MDIL)",
    "IHE PCD Technical Framework vol. 2; IEEE 11073-10101 (vitals/codes.py)",
)

MINDRAY = Dialect(
    "mindray",
    "Mindray monitors and central stations speaking Mindray's own HL7 2.3.1 (PDS) form: "
    "OBX-3 as a Mindray parameter number and name, e.g. 170^Sys",
    "Mindray Patient Data Share Protocol Programmer's Guide (0010-20-43061-2), as the "
    "messages Mindray monitors send show it: 101 HR, 160 SpO2, 161 PR, 170/171/172 NIBP "
    "Sys/Dia/Mean, 173 NIBP PR; -100 for no value",
    codes={
        "101": Param.HR,
        "160": Param.SPO2,
        "161": Param.PULSE,
        "170": Param.SBP,
        "171": Param.DBP,
        "172": Param.MAP,
        "173": Param.PULSE,
    },
)

DIALECTS: dict[str, Dialect] = {d.name: d for d in (STANDARD, MINDRAY)}
