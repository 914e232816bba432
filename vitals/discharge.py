"""Discharge readiness: a clear yes or not yet, with every reason, from the protocol's criteria."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from vitals.baseline import Baseline
from vitals.clinical import DischargeCriteria
from vitals.reading import Param


@dataclass(frozen=True)
class Verdict:
    ready: bool
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        head = "ready for discharge" if self.ready else "not yet ready for discharge"
        return f"{head}: " + "; ".join(self.reasons)


def readiness(
    criteria: DischargeCriteria,
    dose_time: datetime | None,
    now: datetime,
    bp: Sequence[tuple[float, float]],
    baselines: Mapping[Param, Baseline],
    open_episodes: Sequence[str],
) -> Verdict:
    """``bp`` holds the session's valid (sbp, dbp) measurements, oldest first."""
    reasons, ready = [], True
    if dose_time is None:
        return Verdict(False, ("no dose has been recorded",))
    elapsed = (now - dose_time).total_seconds() / 60
    if elapsed < criteria.min_minutes_after_dose:
        ready = False
        reasons.append(
            f"{elapsed:.0f} of {criteria.min_minutes_after_dose:g} min observed since the dose"
        )
    else:
        reasons.append(f"{elapsed:.0f} min observed since the dose")
    last = list(bp)[-criteria.last_readings :]
    if len(last) < criteria.last_readings:
        ready = False
        reasons.append(f"{len(last)} of {criteria.last_readings} BP readings since the dose")
    else:
        settled = [_settled(s, d, criteria, baselines) for s, d in last]
        shown = ", ".join(f"{s:g}/{d:g}" for s, d in last)
        if all(settled):
            reasons.append(f"last {len(last)} BP {shown} settled")
        else:
            ready = False
            reasons.append(
                f"last {len(last)} BP {shown} not all below {criteria.sbp_below:g}/"
                f"{criteria.dbp_below:g} nor within {criteria.within_baseline_mmhg:g} mmHg"
                " of baseline"
            )
    if open_episodes:
        ready = False
        reasons.append("open alerts: " + ", ".join(open_episodes))
    return Verdict(ready, tuple(reasons))


def _settled(
    sbp: float, dbp: float, c: DischargeCriteria, baselines: Mapping[Param, Baseline]
) -> bool:
    if sbp < c.sbp_below and dbp < c.dbp_below:
        return True
    base = baselines.get(Param.SBP)
    return (
        base is not None and base.value is not None and sbp <= base.value + c.within_baseline_mmhg
    )
