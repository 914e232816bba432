"""Alert rules: what counts as an elevated (or low) reading, how sure we must be, when it ends.

A rule watches one parameter in one direction with up to three tiers (advisory, warning,
critical). Tiers of one rule make one episode that escalates, so a rising blood pressure is
one alarm that gets louder, never three overlapping ones.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from vitals.errors import ConfigError
from vitals.reading import Param


class Level(enum.IntEnum):
    """Alarm levels, ordered; mapped to IEC 60601-1-8 alarm priorities."""

    ADVISORY = 1  # IEC 60601-1-8 low priority
    WARNING = 2  # medium priority
    CRITICAL = 3  # high priority

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def iec_priority(self) -> str:
        return {1: "low", 2: "medium", 3: "high"}[self.value]

    @classmethod
    def parse(cls, text: str) -> Level:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ConfigError(
                f"unknown level {text!r}; expected advisory, warning or critical"
            ) from None


PHASES = ("any", "pre-dose", "post-dose")


class Direction(enum.StrEnum):
    HIGH = "high"
    LOW = "low"


@dataclass(frozen=True)
class Rule:
    """One parameter, one direction, tiered thresholds.

    ``persist_readings`` consecutive breaching readings, or ``persist_s`` seconds of them, open
    an episode; a critical tier fires at once. The episode ends only when a reading is back
    beyond the lowest threshold by ``hysteresis``. With ``relative`` the thresholds are offsets
    from the session's baseline (e.g. SBP >= baseline + 40).

    ``inclusive`` says whether a value *at* a threshold breaches it (">= 160", as NICE states
    its stages) or only beyond it ("> 120", as monitors state their limits): each preset keeps
    the comparison its source uses, so the edge is the source's edge. ``persistence`` says why
    the rule waits as long as it does, in time (a cuff result is itself a 30-40 s measurement).
    """

    name: str
    param: Param
    direction: Direction
    tiers: tuple[tuple[Level, float], ...]
    persist_readings: int = 1
    persist_s: float = 0.0
    hysteresis: float = 0.0
    relative: bool = False
    phase: str = "any"  # "any", "pre-dose" or "post-dose": when the rule judges readings
    source: str = ""
    inclusive: bool = True
    persistence: str = ""

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ConfigError(
                f"rule {self.name!r}: phase must be one of {PHASES}, got {self.phase!r}"
            )
        if not self.tiers:
            raise ConfigError(f"rule {self.name!r} has no thresholds")
        levels = [level for level, _ in self.tiers]
        if levels != sorted(set(levels)):
            raise ConfigError(f"rule {self.name!r}: tiers must be distinct and ordered by level")
        values = [v for _, v in self.tiers]
        ordered = (
            values == sorted(values)
            if self.direction is Direction.HIGH
            else values == sorted(values, reverse=True)
        )
        if not ordered:
            raise ConfigError(
                f"rule {self.name!r}: a higher level needs a more extreme threshold, got {values}"
            )
        if self.persist_readings < 1 or self.persist_s < 0 or self.hysteresis < 0:
            raise ConfigError(
                f"rule {self.name!r}: persistence >= 1 reading, seconds and hysteresis >= 0"
            )

    def threshold(self, level: Level) -> float:
        return dict(self.tiers)[level]

    @property
    def operator(self) -> str:
        """How a reason prints the comparison: ≥ / > for high rules, ≤ / < for low ones."""
        if self.direction is Direction.HIGH:
            return "≥" if self.inclusive else ">"
        return "≤" if self.inclusive else "<"

    def beyond(self, value: float, line: float) -> bool:
        """Whether ``value`` breaches ``line`` in this rule's direction and comparison."""
        if self.direction is Direction.HIGH:
            return value >= line if self.inclusive else value > line
        return value <= line if self.inclusive else value < line

    def with_threshold(self, level: Level, value: float) -> Rule:
        tiers = dict(self.tiers)
        if level not in tiers:
            raise ConfigError(f"rule {self.name!r} has no {level.label} threshold to change")
        tiers[level] = value
        return replace(self, tiers=tuple(sorted(tiers.items())))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["param"] = self.param.value
        data["direction"] = self.direction.value
        data["tiers"] = {level.label: value for level, value in self.tiers}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        name = str(data.get("name", "?"))
        try:
            tiers = tuple(
                sorted((Level.parse(k), float(v)) for k, v in dict(data["tiers"]).items())
            )
            return cls(
                name=name,
                param=Param(data["param"]),
                direction=Direction(data["direction"]),
                tiers=tiers,
                persist_readings=int(data.get("persist_readings", 1)),
                persist_s=float(data.get("persist_s", 0)),
                hysteresis=float(data.get("hysteresis", 0)),
                relative=bool(data.get("relative", False)),
                phase=str(data.get("phase", "any")),
                source=str(data.get("source", "")),
                inclusive=bool(data.get("inclusive", True)),
                persistence=str(data.get("persistence", "")),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ConfigError(f"rule {name!r} is malformed: {exc}") from None


@dataclass(frozen=True)
class RuleSet:
    """The rules in force for one session (or one chair without a session)."""

    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def by_name(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        known = ", ".join(r.name for r in self.rules)
        raise ConfigError(f"no rule named {name!r}; rules: {known}")

    def changed(self, name: str, level: Level, value: float) -> RuleSet:
        rule = self.by_name(name).with_threshold(level, value)
        return RuleSet(tuple(rule if r.name == name else r for r in self.rules))
