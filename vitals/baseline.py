"""The pre-dose baseline a session's relative rules and discharge criteria compare against."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from vitals.clinical import BaselineSpec
from vitals.reading import Param, Quality, Reading


@dataclass(frozen=True)
class Baseline:
    """A baseline value with where it came from, so a nurse can judge it."""

    param: Param
    value: float | None
    source: str


def compute_baselines(
    spec: BaselineSpec,
    readings: Iterable[Reading],
    dose_time: datetime,
    entered: Mapping[Param, float] | None = None,
) -> dict[Param, Baseline]:
    """Median of the valid readings in the window before the dose; a value entered by hand wins.

    With fewer readings than the protocol asks for, the fallback is stated: the single
    latest pre-dose reading if there is one, otherwise no baseline (relative rules then stay
    inactive and the dashboard says so).
    """
    entered = entered or {}
    start = dose_time - timedelta(minutes=spec.window_min)
    window: dict[Param, list[Reading]] = {p: [] for p in spec.params}
    for r in readings:
        valid = r.quality is Quality.OK and r.value is not None
        if r.param in window and valid and start <= r.time < dose_time:
            window[r.param].append(r)
    result = {}
    for param in spec.params:
        if param in entered:
            result[param] = Baseline(param, entered[param], "entered by hand")
            continue
        found = sorted(window[param], key=lambda r: r.time)
        span = f"{spec.window_min:g} min before the dose"
        if len(found) >= spec.min_readings:
            median = statistics.median(r.value for r in found)
            result[param] = Baseline(
                param, median, f"median of {len(found)} readings in the {span}"
            )
        elif found:
            result[param] = Baseline(
                param,
                found[-1].value,
                f"only {len(found)} reading in the {span} (protocol asks for "
                f"{spec.min_readings}): using that single reading",
            )
        else:
            result[param] = Baseline(
                param,
                None,
                f"no reading in the {span}: no baseline; relative rules inactive "
                "until one is entered by hand",
            )
    return result
