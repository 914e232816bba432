"""Blood-pressure checks due at fixed times after the dose, and when they became overdue.

The due times are anchored to the dose (or the infusion start), never to the last check: a
check taken early or in between never moves a later one, so the esketamine check at 40 min
(the label's time of peak BP) stays at 40 min whatever happened at 10. A check counts for a
due time when it falls from ``early_min`` before to ``grace_min`` after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from vitals.clinical import Schedule


@dataclass(frozen=True)
class Overdue:
    """Checks missed in a row: the first was due at ``due`` and not taken by ``due + grace``
    (``started``); it ends at the next NIBP reading (``ended``, None while still overdue)."""

    due: datetime
    started: datetime
    ended: datetime | None
    missed: int = 1


def due_minutes(schedule: Schedule) -> Iterator[float]:
    """Minutes after the dose at which checks are due, in order (endless for an open phase)."""
    for phase in schedule.phases:
        minute = phase.from_min + phase.every_min
        while phase.until_min is None or minute <= phase.until_min:
            yield minute
            minute += phase.every_min


def due_times(schedule: Schedule, dose_time: datetime, until: datetime) -> list[datetime]:
    """Every check due from the dose up to ``until``."""
    times = []
    for minute in due_minutes(schedule):
        due = dose_time + timedelta(minutes=minute)
        if due > until:
            break
        times.append(due)
    return times


def _met(schedule: Schedule, due: datetime, checks: Iterable[datetime]) -> bool:
    early, grace = timedelta(minutes=schedule.early_min), timedelta(minutes=schedule.grace_min)
    return any(due - early <= check <= due + grace for check in checks)


def overdue_checks(
    schedule: Schedule, dose_time: datetime, checks: Iterable[datetime], now: datetime
) -> list[Overdue]:
    """Every overdue interval from the dose until ``now``, given the times of the NIBP checks.

    Pure and independent of when it is asked: live (asked every second) and in review (asked
    once) it gives the same intervals, because starts and ends are set by the schedule and
    the checks, never by the time of asking. Checks missed while one is already overdue are
    counted in that interval, so one outage of the cuff is one alarm.
    """
    grace = timedelta(minutes=schedule.grace_min)
    taken = sorted(c for c in checks if c >= dose_time)
    found: list[Overdue] = []
    for due in due_times(schedule, dose_time, now):
        start = due + grace
        if start >= now or _met(schedule, due, taken):
            continue
        last = found[-1] if found else None
        if last is not None and (last.ended is None or last.ended > start):
            found[-1] = Overdue(last.due, last.started, last.ended, last.missed + 1)
            continue
        found.append(Overdue(due, start, next((c for c in taken if c > start), None)))
    return found


def next_check(
    schedule: Schedule, dose_time: datetime, last_check: datetime | None, now: datetime
) -> tuple[datetime, bool] | None:
    """The next check a nurse must take after ``last_check`` and whether it is overdue now;
    None when the schedule has no further check."""
    grace = timedelta(minutes=schedule.grace_min)
    since = last_check if last_check and last_check >= dose_time else dose_time
    for minute in due_minutes(schedule):
        due = dose_time + timedelta(minutes=minute)
        if due + grace < since or (last_check and _met(schedule, due, [last_check])):
            continue
        return due, now > due + grace
    return None
