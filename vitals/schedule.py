"""Blood-pressure checks due by the protocol's schedule, and when they became overdue."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vitals.clinical import Schedule


@dataclass(frozen=True)
class Overdue:
    """A check that was due at ``due`` and not taken by ``due + grace`` (``started``)."""

    due: datetime
    started: datetime
    ended: datetime | None  # the next NIBP reading, or None while still overdue


def next_due(schedule: Schedule, dose_time: datetime, last_check: datetime | None) -> datetime:
    """When the next check is due: one interval after the last check (or after the dose)."""
    anchor = max(last_check, dose_time) if last_check else dose_time
    minutes = (anchor - dose_time).total_seconds() / 60
    return anchor + timedelta(minutes=schedule.every_min(minutes))


def overdue_checks(
    schedule: Schedule, dose_time: datetime, checks: Iterable[datetime], now: datetime
) -> list[Overdue]:
    """Every overdue interval from the dose until ``now``, given the times of the NIBP checks.

    Pure and independent of when it is asked: live (asked every second) and in review (asked
    once) it gives the same intervals, because starts and ends are set by the schedule and
    the checks, never by the time of asking.
    """
    grace = timedelta(minutes=schedule.grace_min)
    found, last = [], None
    for check in sorted(c for c in checks if c >= dose_time):
        due = next_due(schedule, dose_time, last)
        if check > due + grace:
            found.append(Overdue(due, due + grace, check))
        last = check
    due = next_due(schedule, dose_time, last)
    if now > due + grace:
        found.append(Overdue(due, due + grace, None))
    return found
