"""Nurse-rated scales of a session: sedation (MOAA/S), dissociation (CADSS total by default) and
respiratory status, each due at the protocol's minutes after the dose.

The scales, their ranges, their due times and when a score means "the patient experienced
it" (the REMS form's yes) live in the protocol TOML (``[[scales]]``, with sources), so a clinic
that rates dissociation on another scale changes data, not code. A score is stored as a session
event whose kind is the scale's name (``sedation``, ``dissociation``, ``respiratory``), so it is
audited and append-only like every other event.

Due times work like BP checks: anchored to the dose, a score counts for a due time when it
falls from ``early_min`` before to ``grace_min`` after it, and a due time not met by then is
overdue until the next score of that scale.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vitals.clinical import NO_SESSION, PROTOCOL_DIR, _read
from vitals.errors import ConfigError


@dataclass(frozen=True)
class Scale:
    """One nurse-rated scale of a protocol."""

    name: str  # also the event kind its scores are stored under
    title: str
    instrument: str
    low: float
    high: float
    minutes: tuple[float, ...]
    early_min: float
    grace_min: float
    source: str
    below: float | None = None  # a score below this means "experienced" (MOAA/S < 5)
    above: float | None = None  # a score above this means "experienced" (CADSS > 4)
    labels: tuple[str, ...] = ()

    def present(self, score: float) -> bool:
        """Does this score answer the REMS question "did the patient experience it?" yes."""
        return (self.below is not None and score < self.below) or (
            self.above is not None and score > self.above
        )

    def check(self, score: float) -> float:
        if not self.low <= score <= self.high:
            raise ConfigError(f"{self.title} score {score:g} is outside {self.low:g}-{self.high:g}")
        return score

    def label(self, score: float) -> str:
        """The score with its words where the scale has them (MOAA/S 4: lethargic ...)."""
        index = int(score)
        if self.labels and index == score and 0 <= index - int(self.low) < len(self.labels):
            return self.labels[index - int(self.low)]
        return f"{score:g}"


@dataclass(frozen=True)
class RespiratoryDepression:
    """When the oximeter alone answers the REMS respiratory-depression question yes."""

    spo2_below: float
    for_s: float
    source: str


@dataclass(frozen=True)
class ScaleDue:
    """The next score of a scale a nurse must take, and whether it is overdue now."""

    scale: Scale
    due: datetime
    overdue: bool


def _scale(data: Mapping[str, Any]) -> Scale:
    present = data["present"]
    return Scale(
        name=data["name"],
        title=data["title"],
        instrument=data["instrument"],
        low=float(data["min"]),
        high=float(data["max"]),
        minutes=tuple(float(m) for m in data["minutes"]),
        early_min=float(data["early_min"]),
        grace_min=float(data["grace_min"]),
        source=data["source"],
        below=present.get("below"),
        above=present.get("above"),
        labels=tuple(data.get("labels", ())),
    )


@functools.lru_cache(maxsize=32)
def _protocol_data(protocol: str) -> dict[str, Any]:
    if protocol == NO_SESSION:
        return {}
    path = PROTOCOL_DIR / f"{protocol}.toml"
    if not path.exists():
        raise ConfigError(f"unknown protocol preset {protocol!r}")
    return _read(path)


def protocol_scales(protocol: str) -> tuple[Scale, ...]:
    """The protocol's nurse-rated scales in the order the chair page offers them."""
    try:
        return tuple(_scale(s) for s in _protocol_data(protocol).get("scales", ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"protocol {protocol}: a [[scales]] entry is malformed: {exc!r}"
        ) from None


def scale_named(protocol: str, name: str) -> Scale | None:
    return next((s for s in protocol_scales(protocol) if s.name == name), None)


def respiratory_depression_rule(protocol: str) -> RespiratoryDepression | None:
    data = _protocol_data(protocol).get("respiratory_depression")
    if data is None:
        return None
    return RespiratoryDepression(float(data["spo2_below"]), float(data["for_s"]), data["source"])


def _met(scale: Scale, due: datetime, scored: Iterable[datetime]) -> bool:
    early, grace = timedelta(minutes=scale.early_min), timedelta(minutes=scale.grace_min)
    return any(due - early <= t <= due + grace for t in scored)


def next_score(
    scale: Scale, dose_time: datetime, scored: Sequence[datetime], now: datetime
) -> ScaleDue | None:
    """The first due time not yet met, overdue when its grace has passed; None when every
    due time is met or past. As with BP checks, a late score ends the overdue state: a due
    time whose grace ended before the latest score is not asked for again."""
    grace = timedelta(minutes=scale.grace_min)
    latest = max(scored, default=None)
    for minute in scale.minutes:
        due = dose_time + timedelta(minutes=minute)
        if _met(scale, due, scored) or (latest is not None and due + grace < latest):
            continue
        return ScaleDue(scale, due, now > due + grace)
    return None


def scales_due(
    protocol: str,
    dose_time: datetime | None,
    scored: Mapping[str, Sequence[datetime]],
    now: datetime,
) -> list[ScaleDue]:
    """Every scale's next score, overdue ones first, then by due time; ``scored`` holds the
    times each scale (by name) was rated in the session."""
    if dose_time is None:
        return []
    found = [
        due
        for scale in protocol_scales(protocol)
        if (due := next_score(scale, dose_time, scored.get(scale.name, ()), now)) is not None
    ]
    return sorted(found, key=lambda d: (not d.overdue, d.due))
