"""Discharge readiness: a clear yes or not yet, every unmet condition, and when the patient
first met them all.

A pure function of the session's data (dose time, blood pressures, baselines, alarms with
their acknowledgments): the chair page, the end-of-session dialog, the report and a stored
summary all get the same verdict. Conditions, each judged at a moment ``t``:

1. the protocol's minimum observation since the dose has passed;
2. at least one BP was taken after the expected peak;
3. the newest BP is no older than the protocol allows;
4. the last BPs each have SBP *and* DBP no more than the margin above the baseline, or not
   above the absolute limits (a BP falling below its baseline is what the label hopes for);
5. no alarm waits for a nurse (open and unacknowledged, or a critical one not acknowledged).

``would_have_been_ready`` is the first moment conditions 2-5 all held: the answer to the
SPRAVATO REMS Patient Monitoring Form's question "if there was not a 2-hour minimum
monitoring requirement, when would this patient have been ready to leave?".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vitals.baseline import Baseline
from vitals.clinical import DischargeCriteria
from vitals.reading import Param


@dataclass(frozen=True)
class BloodPressure:
    """One cuff result of the session (valid systolic and diastolic)."""

    time: datetime
    sbp: float
    dbp: float


@dataclass(frozen=True)
class Alarm:
    """An alert episode as discharge sees it: does it wait for a nurse at a given moment?"""

    name: str  # what a nurse calls it ("High SBP"), never the rule's id
    level: str
    started: datetime
    ended: datetime | None = None
    acked: datetime | None = None

    def waiting(self, t: datetime) -> bool:
        if self.started > t or (self.acked is not None and self.acked <= t):
            return False
        open_at_t = self.ended is None or self.ended > t
        return open_at_t or self.level == "critical"  # a critical latches until acknowledged


@dataclass(frozen=True)
class Verdict:
    ready: bool
    unmet: tuple[str, ...]
    met: tuple[str, ...] = ()
    dose_time: datetime | None = None
    would_have_been_ready: datetime | None = None

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.unmet + self.met

    @property
    def ready_after_min(self) -> float | None:
        """Minutes from the dose to ``would_have_been_ready`` (the REMS form's answer)."""
        if self.dose_time is None or self.would_have_been_ready is None:
            return None
        return (self.would_have_been_ready - self.dose_time).total_seconds() / 60

    def __str__(self) -> str:
        head = "ready for discharge" if self.ready else "not yet ready for discharge"
        text = f"{head}: " + "; ".join(self.reasons)
        if self.ready_after_min is not None:
            text += (
                f" (would have been ready at +{self.ready_after_min:.0f} min without the "
                "minimum observation)"
            )
        return text


def readiness(
    criteria: DischargeCriteria,
    dose_time: datetime | None,
    now: datetime,
    bp: Sequence[BloodPressure],
    baselines: Mapping[Param, Baseline],
    alarms: Sequence[Alarm] = (),
) -> Verdict:
    """The verdict at ``now`` and the first moment the patient met every other condition.

    ``bp`` holds the session's valid cuff results and ``alarms`` its clinical alarms that can
    hold a patient back (pre-dose advisories are left out by the caller: they never block
    discharge by themselves).
    """
    if dose_time is None:
        return Verdict(False, ("no dose has been recorded",))
    bp = sorted((b for b in bp if dose_time <= b.time <= now), key=lambda b: b.time)
    judge = _Judge(criteria, dose_time, bp, baselines, alarms)
    results = [_observed(criteria, dose_time, now), *judge.conditions(now)]
    return Verdict(
        ready=all(ok for ok, _ in results),
        unmet=tuple(text for ok, text in results if not ok),
        met=tuple(text for ok, text in results if ok),
        dose_time=dose_time,
        would_have_been_ready=judge.first_met(now),
    )


def _observed(c: DischargeCriteria, dose_time: datetime, t: datetime) -> tuple[bool, str]:
    elapsed = (t - dose_time).total_seconds() / 60
    if elapsed < c.min_minutes_after_dose:
        return False, f"{elapsed:.0f} of {c.min_minutes_after_dose:g} min observed since the dose"
    return True, f"{elapsed:.0f} min observed since the dose"


class _Judge:
    """Conditions 2-5 at any moment, from the session's data up to that moment."""

    def __init__(self, c, dose_time, bp, baselines, alarms) -> None:
        self.c, self.dose_time, self.bp, self.alarms = c, dose_time, bp, alarms
        self.baselines = {p: b.value for p, b in baselines.items() if b.value is not None}

    def conditions(self, t: datetime) -> list[tuple[bool, str]]:
        taken = [b for b in self.bp if b.time <= t]
        return [
            self._after_peak(taken),
            self._recent(taken, t),
            self._settled(taken),
            self._no_alarm(t),
        ]

    def first_met(self, now: datetime) -> datetime | None:
        """The first moment conditions 2-5 all held: they change only at a cuff result, an
        alarm's end or its acknowledgment, so those moments are the candidates."""
        moments = {b.time for b in self.bp}
        moments |= {a.ended for a in self.alarms if a.ended} | {a.acked for a in self.alarms}
        for t in sorted(m for m in moments if m is not None and self.dose_time <= m <= now):
            if all(ok for ok, _ in self.conditions(t)):
                return t
        return None

    def _after_peak(self, taken: list[BloodPressure]) -> tuple[bool, str]:
        peak = self.dose_time + timedelta(minutes=self.c.peak_min)
        if any(b.time >= peak for b in taken):
            return True, f"BP taken after the expected peak ({self.c.peak_min:g} min)"
        return False, f"no BP yet after the expected peak at {self.c.peak_min:g} min"

    def _recent(self, taken: list[BloodPressure], t: datetime) -> tuple[bool, str]:
        if not taken:
            return False, "no BP since the dose"
        age = (t - taken[-1].time).total_seconds() / 60
        if age > self.c.max_bp_age_min:
            return False, (
                f"newest BP is {age:.0f} min old (at most {self.c.max_bp_age_min:g}): take one"
            )
        return True, f"newest BP {age:.0f} min old"

    def _settled(self, taken: list[BloodPressure]) -> tuple[bool, str]:
        last = taken[-self.c.last_readings :]
        if len(last) < self.c.last_readings:
            return False, f"{len(last)} of {self.c.last_readings} BP readings since the dose"
        shown = ", ".join(f"{b.sbp:g}/{b.dbp:g}" for b in last)
        if all(self._settled_one(b) for b in last):
            return True, f"last {len(last)} BP {shown} settled"
        return False, (
            f"last {len(last)} BP {shown}: SBP and DBP not each within "
            f"{self.c.within_baseline_pct:g} % of baseline nor at most "
            f"{self.c.sbp_max:g}/{self.c.dbp_max:g}"
        )

    def _settled_one(self, b: BloodPressure) -> bool:
        return self._near(Param.SBP, b.sbp, self.c.sbp_max) and self._near(
            Param.DBP, b.dbp, self.c.dbp_max
        )

    def _near(self, param: Param, value: float, limit: float) -> bool:
        base = self.baselines.get(param)
        margin = self.c.within_baseline_pct / 100
        return value <= limit or (base is not None and value <= base * (1 + margin))

    def _no_alarm(self, t: datetime) -> tuple[bool, str]:
        waiting = sorted({a.name for a in self.alarms if a.waiting(t)})
        if waiting:
            return False, "alerts waiting for a nurse: " + ", ".join(waiting)
        return True, "no alert waiting for a nurse"
