"""A session written as a nurse writes it down: clock times, what the monitor showed, what was
done; and what the engine, the schedule and the discharge verdict make of it.

Tests read like a chart::

    t = Timeline("iv-ketamine")
    t.dose("09:00")
    t.cuff("09:20", 60, 35, 43)
    assert t.alarms() == [("09:20", "map-low", "critical", None), ...]

Times are clock times on one day (UTC stands in for the clinic's clock); readings are added in
any order and sorted before judging, as the recorder stores them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vitals.baseline import Baseline, compute_baselines
from vitals.clinical import load_protocol
from vitals.discharge import Alarm, Verdict, readiness
from vitals.engine import Dose, Episode, evaluate
from vitals.heart_rate import HeartRateSources
from vitals.reading import Param, Quality, Reading
from vitals.schedule import Overdue, overdue_checks
from vitals.verdict import blood_pressures

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def clock(text: str) -> datetime:
    """'09:20' or '09:20:30' on the timeline's day."""
    parts = [int(p) for p in text.split(":")] + [0]
    return DAY + timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])


def hhmm(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")


class Timeline:
    def __init__(
        self,
        protocol: str = "iv-ketamine",
        session_start: str = "08:45",
        heart_rate: tuple[str, ...] = ("hr", "pulse"),
    ) -> None:
        self.protocol = load_protocol(protocol)
        self.started = clock(session_start)
        self.heart_rate = HeartRateSources.parse(heart_rate)
        self.readings: list[Reading] = []
        self.dose_time: datetime | None = None
        self.dosed_by = ""
        self.entered: dict[Param, float] = {}
        self.acks: dict[str, datetime] = {}

    # what the monitors sent
    def add(
        self, param: Param, at: str | datetime, value: float | None, quality=Quality.OK, source=""
    ) -> None:
        moment = clock(at) if isinstance(at, str) else at
        reading = Reading(param, value, quality if value is not None else Quality.INVALID)
        self.readings.append(reading.stamped("c1", moment, source or "monitor"))

    def cuff(self, at: str, sbp: float, dbp: float, mean: float | None = None) -> None:
        """One NIBP result (MAP by the usual formula unless given)."""
        mean = mean if mean is not None else round(dbp + (sbp - dbp) / 3)
        for param, value in ((Param.SBP, sbp), (Param.DBP, dbp), (Param.MAP, mean)):
            self.add(param, at, value)

    def every(self, param: Param, start: str, end: str, value, step_s: int = 1, **kw) -> None:
        """A continuous parameter from ``start`` up to (not including) ``end``."""
        t = clock(start)
        while t < clock(end):
            self.add(param, t, value, **kw)
            t += timedelta(seconds=step_s)

    # what the nurse did
    def dose(self, at: str, by: str = "Nurse Ada") -> None:
        self.dose_time, self.dosed_by = clock(at), by

    def enter_baseline(self, **values: float) -> None:
        self.entered |= {Param(k): v for k, v in values.items()}

    def acknowledge(self, rule: str, at: str) -> None:
        self.acks[rule] = clock(at)

    # what Chairside makes of it
    def baselines(self) -> dict[Param, Baseline]:
        return compute_baselines(
            self.protocol.baseline, self._sorted(), self.dose_time, self.entered, self.started
        )

    def episodes(self, rules=None) -> list[Episode]:
        return evaluate(
            rules or self.protocol.rules,
            [r for r in self._sorted() if r.time >= self.started],
            {p: b.value for p, b in self.baselines().items() if b.value is not None}
            if self.dose_time
            else {},
            self._dose(),
            self.heart_rate,
        )

    def alarms(self, kind: str = "clinical") -> list[tuple[str, str, str, str | None]]:
        """(started, rule, level, ended) of every episode of ``kind``, by start."""
        return [
            (hhmm(e.started), e.rule, e.level.label, hhmm(e.ended))
            for e in self.episodes()
            if e.kind == kind
        ]

    def overdue(self, now: str) -> list[Overdue]:
        checks = [r.time for r in self.readings if r.param is Param.SBP]
        return overdue_checks(self.protocol.schedule, self.dose_time, checks, clock(now))

    def verdict(self, now: str) -> Verdict:
        pre_dose = {r.name for r in self.protocol.rules.rules if r.phase == "pre-dose"}
        alarms = [
            Alarm(e.rule, e.level.label, e.started, e.ended, self.acks.get(e.rule))
            for e in self.episodes()
            if e.kind == "clinical" and e.rule not in pre_dose
        ]
        at = clock(now)
        bp = blood_pressures([r for r in self._sorted() if r.time <= at])
        return readiness(self.protocol.discharge, self.dose_time, at, bp, self.baselines(), alarms)

    def _dose(self) -> Dose | None:
        if self.dose_time is None:
            return None
        return Dose(
            self.dose_time,
            self.dosed_by,
            self.protocol.baseline.required_before_dose,
            Param.SBP in self.entered,
        )

    def _sorted(self) -> list[Reading]:
        return sorted(self.readings, key=lambda r: r.time)
