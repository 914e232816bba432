"""Judging a monitor's own clock against the recorder's.

Every reading is stamped with the recorder's receipt time; the device time is kept beside it
as the moment the monitor says it measured. A device time further than the chair's tolerance
from the receipt time (a monitor set to the wrong year, a clock that jumped) is not a time of
measurement at all: it is dropped, so the store never holds 2099 as a measurement time, and
the monitor's clock is reported once as a technical advisory, ended when it is back in tune.
A further jump while it is off is reported again, once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from vitals.engine import TECHNICAL, Episode
from vitals.reading import Reading
from vitals.rules import Level

RULE = "device-clock"


class DeviceClock:
    """One device's clock; ``tolerance_s`` 0 means it is not judged (simulated clocks)."""

    def __init__(self, tolerance_s: float, who: str) -> None:
        self.tolerance_s, self.who = tolerance_s, who
        self.episode: Episode | None = None  # open while the clock is off
        self._off_by: float | None = None  # the offset the open episode reports

    def judge(self, readings: list[Reading], received: datetime) -> tuple[list[Reading], list]:
        """Readings with out-of-tune device times dropped, and episodes opened or ended."""
        if not self.tolerance_s:
            return readings, []
        changed: list[Episode] = []
        judged = []
        for reading in readings:
            if reading.device_time is None:
                judged.append(reading)
                continue
            offset = (reading.device_time - received).total_seconds()
            changed += self._follow(offset, received)
            if abs(offset) > self.tolerance_s:
                reading = replace(reading, device_time=None)
            judged.append(reading)
        return judged, changed

    def _follow(self, offset: float, now: datetime) -> list[Episode]:
        """An episode when the clock goes out of tune or jumps again; its end when back."""
        off = abs(offset) > self.tolerance_s
        if self.episode is not None and (not off or abs(offset - self._off_by) > self.tolerance_s):
            ended, self.episode = replace(self.episode, ended=now), None
            return [ended, *self._follow(offset, now)] if off else [ended]
        if off and self.episode is None:
            self._off_by = offset
            self.episode = Episode(
                RULE, TECHNICAL, Level.ADVISORY, now, reason=self._reason(offset)
            )
            return [self.episode]
        return []

    def _reason(self, offset: float) -> str:
        way = "ahead of" if offset > 0 else "behind"
        return (
            f"{self.who}: the monitor's clock is {_span(abs(offset))} {way} the recorder's; "
            "readings are timed by the recorder, the monitor's times are not kept"
        )


def _span(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds / 60:.0f} min"
