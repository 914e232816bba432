"""The Reading: one value of one parameter from one chair, in canonical units.

Every device adapter yields this type and nothing else, so the recorder, the alert rules and
the dashboard never see a vendor format. NIBP is one measurement of three values (sbp, dbp,
map) that share one time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import UTC, datetime


class Param(enum.StrEnum):
    """Parameters Chairside records; the values are the names used in the store and views."""

    HR = "hr"
    PULSE = "pulse"
    SBP = "sbp"
    DBP = "dbp"
    MAP = "map"
    SPO2 = "spo2"


class Quality(enum.StrEnum):
    """How far a value can be trusted; only ``ok`` values may ever raise a clinical alarm."""

    OK = "ok"
    ARTIFACT = "artifact"
    INVALID = "invalid"


UNITS: dict[Param, str] = {
    Param.HR: "bpm",
    Param.PULSE: "bpm",
    Param.SBP: "mmHg",
    Param.DBP: "mmHg",
    Param.MAP: "mmHg",
    Param.SPO2: "%",
}

NIBP_PARAMS: tuple[Param, Param, Param] = (Param.SBP, Param.DBP, Param.MAP)


@dataclass(frozen=True, slots=True)
class Reading:
    """A decoded value; ``value`` is None when the device said "no data" for the parameter.

    ``time`` is the recorder's clock (UTC) and is filled in by the recorder, not the decoder;
    ``device_time`` is the monitor's own clock when the protocol sends one.
    """

    param: Param
    value: float | None
    quality: Quality = Quality.OK
    device_time: datetime | None = None
    time: datetime | None = None
    chair: str = ""
    source: str = ""

    @property
    def unit(self) -> str:
        return UNITS[self.param]

    def stamped(self, chair: str, time: datetime, source: str) -> Reading:
        """The same reading as received by ``chair`` at ``time`` through device ``source``."""
        return replace(self, chair=chair, time=time, source=source)


def utc_now() -> datetime:
    return datetime.now(UTC)
