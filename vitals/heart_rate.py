"""Heart rate from the best source a chair has: one heart-rate stream, so one heart-rate alarm.

A chair may report the heart rate two or three times over: ECG HR from the monitor, the pulse
rate of the oximeter (the SPRAVATO REMS asks for a pulse oximeter, not an ECG, so many chairs
have no ECG at all), and the pulse rate a cuff or a second device reports. Watching each of
them would ring two alarms for one heartbeat; watching only ``hr`` misses the chair without an
ECG. The chair's configuration therefore orders its sources (``heart_rate = ["hr", "pulse"]``,
ECG first) and the selector passes on, for each moment, the reading of the best source that is
currently valid: a source is valid while its newest reading is ``ok`` and no older than
``stale_s``. When the ECG leads come off (the monitor sends an invalid HR) the oximeter's pulse
takes over with its next reading; when the ECG is back, it leads again.

An entry is a parameter (``hr``, ``pulse``) or a parameter from one named device of the chair
(``pulse@cuff``: the pulse rate the NIBP device reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vitals.errors import ConfigError
from vitals.reading import Param, Quality, Reading

HEART_RATE_PARAMS = (Param.HR, Param.PULSE)
DEFAULT_ORDER = ("hr", "pulse")
DEFAULT_STALE_S = 15.0
LABELS = {Param.HR: "ECG", Param.PULSE: "oximeter pulse"}


@dataclass(frozen=True)
class HeartRateSource:
    """One place a heart rate comes from: a parameter, optionally from one named device."""

    param: Param
    device: str = ""

    @classmethod
    def parse(cls, text: str) -> HeartRateSource:
        name, at, device = str(text).strip().partition("@")
        param = next((p for p in HEART_RATE_PARAMS if p.value == name), None)
        if param is None or (at and not device):
            raise ConfigError(
                f"heart-rate source {text!r}: expected 'hr' or 'pulse', optionally '@DEVICE'"
            )
        return cls(param, device)

    def matches(self, reading: Reading) -> bool:
        return reading.param is self.param and (not self.device or reading.source == self.device)

    @property
    def label(self) -> str:
        """How a nurse reads the source: "ECG", "oximeter pulse", "pulse from cuff"."""
        return f"{self.param.value} from {self.device}" if self.device else LABELS[self.param]

    def __str__(self) -> str:
        return f"{self.param.value}@{self.device}" if self.device else self.param.value


@dataclass(frozen=True)
class HeartRateSources:
    """A chair's heart-rate sources, best first, and how old a valid reading may be."""

    order: tuple[HeartRateSource, ...] = tuple(HeartRateSource.parse(s) for s in DEFAULT_ORDER)
    stale_s: float = DEFAULT_STALE_S

    @classmethod
    def parse(cls, entries, stale_s: float = DEFAULT_STALE_S) -> HeartRateSources:
        if isinstance(entries, str) or not entries:
            raise ConfigError(
                f"heart_rate must be a non-empty list such as ['hr', 'pulse'], got {entries!r}"
            )
        order = tuple(HeartRateSource.parse(e) for e in entries)
        if len(set(order)) != len(order):
            raise ConfigError(f"heart_rate lists a source twice: {list(entries)}")
        return cls(order, float(stale_s))

    def names(self) -> list[str]:
        return [str(s) for s in self.order]

    def rank(self, reading: Reading) -> int | None:
        """The position of the first source this reading comes from, or None."""
        return next((i for i, s in enumerate(self.order) if s.matches(reading)), None)


class HeartRateSelector:
    """Turns a chair's hr/pulse readings into one heart-rate stream, best valid source first.

    Pure and incremental: fed in time order, it gives the same stream live and in review.
    """

    def __init__(self, sources: HeartRateSources) -> None:
        self.sources = sources
        self._newest: dict[int, tuple[datetime, bool]] = {}

    def feed(self, reading: Reading) -> Reading | None:
        """The reading as the chair's heart rate (param ``hr``, source named), or None when a
        better source is valid at this moment or the reading itself is not valid."""
        rank = self.sources.rank(reading)
        if rank is None:
            return None
        valid = reading.quality is Quality.OK and reading.value is not None
        self._newest[rank] = (reading.time, valid)
        if not valid or self._best(reading.time) != rank:
            return None
        label = self.sources.order[rank].label
        return Reading(
            Param.HR, reading.value, reading.quality, None, reading.time, reading.chair, label
        )

    def _best(self, now: datetime) -> int | None:
        for rank in range(len(self.sources.order)):
            newest = self._newest.get(rank)
            if newest is None:
                continue
            time, valid = newest
            if valid and (now - time).total_seconds() <= self.sources.stale_s:
                return rank
        return None
