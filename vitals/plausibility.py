"""Physiological plausibility: values no patient can have are kept but flagged ``invalid``.

A monitor can send HR 0 from a loose lead or a systolic below the diastolic from a failed cuff
cycle. Such values are stored (nothing is dropped, an auditor may need them) but marked so that
no alert rule fires on them and no chart plots them as a patient value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from vitals.reading import Param, Quality, Reading

# Inclusive ranges a live adult patient can show; outside them a value is a device fault.
PLAUSIBLE_RANGE: dict[Param, tuple[float, float]] = {
    Param.HR: (1, 300),
    Param.PULSE: (1, 300),
    Param.SBP: (20, 300),
    Param.DBP: (10, 250),
    Param.MAP: (15, 280),
    Param.SPO2: (1, 100),
}


def in_range(reading: Reading) -> bool:
    low, high = PLAUSIBLE_RANGE[reading.param]
    return reading.value is not None and low <= reading.value <= high


def assess(readings: Sequence[Reading]) -> list[Reading]:
    """Flag implausible readings of one decoded batch as invalid, keeping every one of them.

    A batch is what one frame carried, so an NIBP triple is judged together: systolic at or
    below diastolic invalidates all three values of that measurement.
    """
    by_param = {r.param: r.value for r in readings if r.value is not None}
    sbp, dbp = by_param.get(Param.SBP), by_param.get(Param.DBP)
    bad_nibp = sbp is not None and dbp is not None and sbp <= dbp
    out = []
    for reading in readings:
        bad = not in_range(reading) or (
            bad_nibp and reading.param in (Param.SBP, Param.DBP, Param.MAP)
        )
        if bad and reading.quality is not Quality.INVALID:
            reading = replace(reading, quality=Quality.INVALID)
        out.append(reading)
    return out


def judge_by_moment(readings: Sequence[Reading]) -> list[Reading]:
    """Judge readings recorded elsewhere as a live frame is judged: the values of one chair at
    one moment together (so an NIBP triple stands or falls as one), in the order given."""
    moments: dict[tuple, list[int]] = {}
    for i, reading in enumerate(readings):
        moments.setdefault((reading.chair, reading.time), []).append(i)
    judged = list(readings)
    for indices in moments.values():
        for i, reading in zip(indices, assess([readings[i] for i in indices]), strict=True):
            judged[i] = reading
    return judged
