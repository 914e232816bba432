"""Sessions and events: a window on one chair's stream for one (pseudonymous) patient."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from vitals.errors import ConfigError
from vitals.reading import Param
from vitals.rules import RuleSet

# A pseudonymous reference, never a name: letters, digits and - _ . only, no spaces.
PATIENT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
EVENT_KINDS = (
    "dose",
    "infusion-start",
    "infusion-stop",
    "medication",
    "symptom",
    "dissociation",
    "note",
    "bp-check",
    "threshold",
    "protocol",
    "baseline",
    "session-start",
    "session-end",
    "sedation",
    "respiratory",
    "phq9",
    "side-effects",
)
DOSE_KINDS = ("dose", "infusion-start")  # the first of these sets the session's dose time


@dataclass(frozen=True)
class Session:
    id: int
    chair: str
    patient: str
    protocol: str
    started: datetime
    started_by: str
    rules: RuleSet
    rules_changed: datetime
    ended: datetime | None = None
    dose_time: datetime | None = None
    weight_kg: float | None = None
    dose_mg: float | None = None
    baseline_entered: dict[Param, float] = field(default_factory=dict)
    dosed_by: str = ""  # who logged the dose (or infusion start) that set ``dose_time``


@dataclass(frozen=True)
class Event:
    chair: str
    time: datetime
    kind: str
    by: str
    text: str = ""
    value: float | None = None
    session: int | None = None


def check_patient_ref(patient: str) -> str:
    if not PATIENT_REF.match(patient):
        raise ConfigError(
            f"patient reference {patient!r} must be a pseudonymous code (1-32 letters, digits, "
            "'.', '-' or '_'; no names, no spaces)"
        )
    return patient


def check_event_kind(kind: str) -> str:
    if kind not in EVENT_KINDS:
        raise ConfigError(f"unknown event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")
    return kind


def check_person(by: str) -> str:
    if not by or not by.strip():
        raise ConfigError("who is acting must be named (--by NAME): every action is audited")
    return by.strip()
