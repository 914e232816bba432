"""The pre-dose baseline a session's relative rules and discharge criteria compare against.

A baseline is the patient's own: only readings taken since the session started count, never
the chair's stream before it (that may be the previous patient). With fewer readings than the
protocol asks for, the baseline says so and asks for one entered by hand.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from vitals.clinical import BaselineSpec
from vitals.reading import Param, Quality, Reading

# A chair without an ECG has the oximeter's pulse as its heart rate.
STAND_INS = {Param.HR: Param.PULSE}


@dataclass(frozen=True)
class Baseline:
    """A baseline value with where it came from, so a nurse can judge it."""

    param: Param
    value: float | None
    source: str
    needs_entry: bool = False  # too few readings: the nurse is asked to enter one by hand


def compute_baselines(
    spec: BaselineSpec,
    readings: Iterable[Reading],
    dose_time: datetime,
    entered: Mapping[Param, float] | None = None,
    since: datetime | None = None,
) -> dict[Param, Baseline]:
    """Median of the valid readings in the window before the dose; a value entered by hand wins.

    The window starts ``spec.window_min`` before the dose, or when the session started
    (``since``) if that is later. With fewer readings than the protocol asks for, the single
    latest one is used if there is one, and the baseline asks for a value entered by hand;
    with none, there is no baseline (relative rules then stay inactive and say so).
    """
    entered = entered or {}
    start = dose_time - timedelta(minutes=spec.window_min)
    span = f"{spec.window_min:g} min before the dose"
    if since is not None and since > start:
        start, span = since, "session before the dose"
    window: dict[Param, list[Reading]] = {}
    for r in readings:
        if r.quality is Quality.OK and r.value is not None and start <= r.time < dose_time:
            window.setdefault(r.param, []).append(r)
    result = {}
    for param in spec.params:
        if param in entered:
            result[param] = Baseline(param, entered[param], "entered by hand")
            continue
        found, what = window.get(param, []), "readings"
        if not found and param in STAND_INS and window.get(STAND_INS[param]):
            found, what = window[STAND_INS[param]], f"{STAND_INS[param].value} readings"
        result[param] = _baseline(param, sorted(found, key=lambda r: r.time), what, span, spec)
    return result


def _baseline(
    param: Param, found: list[Reading], what: str, span: str, spec: BaselineSpec
) -> Baseline:
    if len(found) >= spec.min_readings:
        median = statistics.median(r.value for r in found)
        return Baseline(param, median, f"median of {len(found)} {what} in the {span}")
    if found:
        return Baseline(
            param,
            found[-1].value,
            f"only {len(found)} reading in the {span} (protocol asks for {spec.min_readings}): "
            "using it; enter a baseline by hand to replace it",
            needs_entry=True,
        )
    return Baseline(
        param,
        None,
        f"no reading in the {span}: no baseline; relative alerts are off until one is "
        "entered by hand",
        needs_entry=True,
    )
