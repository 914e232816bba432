"""The alert engine: readings in, alert episodes out. Pure: no clock, no I/O, no globals.

The recorder feeds it every reading as it arrives and stores each episode snapshot it
returns; review feeds it a stored stream in one go (``evaluate``). Both run this code, so a
session reviewed tomorrow raises exactly the episodes the nurse saw today.

Semantics, per rule:
- Only ``ok`` readings with a value are judged; ``invalid``/``artifact`` ones never raise a
  clinical alarm (they open a technical advisory episode instead, see ``InvalidTracker``).
- A *run* is a series of consecutive judged readings beyond a tier's threshold. A tier fires
  when its run is long enough (``persist_readings``, or ``persist_s`` seconds from the run's
  first reading); a critical tier fires on its first reading.
- The episode starts at the first reading of the run that fired and escalates when a higher
  tier fires; it never de-escalates. It ends at the first reading back beyond the lowest
  threshold by the hysteresis. Critical episodes stay visible until acknowledged (latching is
  a display property: see ``Episode.latched``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from vitals.reading import Param, Quality, Reading
from vitals.rules import Direction, Level, Rule, RuleSet

CLINICAL = "clinical"
TECHNICAL = "technical"


@dataclass(frozen=True)
class Episode:
    """One alarm from start to end; ``key`` identifies it across updates."""

    rule: str
    kind: str
    level: Level
    started: datetime
    param: Param | None = None
    ended: datetime | None = None
    peak_value: float | None = None
    peak_time: datetime | None = None
    reason: str = ""
    triggers: tuple[datetime, ...] = ()
    rule_snapshot: Mapping = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, datetime]:
        return (self.rule, self.started)

    @property
    def open(self) -> bool:
        return self.ended is None

    def latched(self, acknowledged: bool) -> bool:
        """A critical episode whose values recovered stays visible until acknowledged."""
        return self.level is Level.CRITICAL and self.ended is not None and not acknowledged


@dataclass
class _Run:
    start: datetime
    count: int = 0
    times: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


class RuleTracker:
    """State of one clinical rule over one stream."""

    def __init__(
        self, rule: Rule, baseline: float | None = None, dose_time: datetime | None = None
    ) -> None:
        self.rule = rule
        self.dose_time = dose_time
        self.offset = baseline if rule.relative else 0.0
        self.active = not rule.relative or baseline is not None
        self.runs: dict[Level, _Run] = {}
        self.episode: Episode | None = None

    def threshold(self, level: Level) -> float:
        return self.rule.threshold(level) + (self.offset or 0.0)

    def _beyond(self, value: float, line: float) -> bool:
        return value >= line if self.rule.direction is Direction.HIGH else value <= line

    def feed(self, reading: Reading) -> Episode | None:
        """Judge one reading of this rule's parameter; returns the episode if it changed."""
        if not self.active or reading.quality is not Quality.OK or reading.value is None:
            return None
        if not self._in_phase(reading.time):
            return None
        value, time = reading.value, reading.time
        for level, _ in self.rule.tiers:
            if self._beyond(value, self.threshold(level)):
                run = self.runs.setdefault(level, _Run(time))
                run.count += 1
                run.times.append(time)
                run.values.append(value)
            else:
                self.runs.pop(level, None)
        fired = [level for level in self.runs if self._fired(level, time)]
        if self.episode is None:
            return self._open(max(fired), value, time) if fired else None
        return self._update(max(fired) if fired else None, value, time)

    def _in_phase(self, time: datetime) -> bool:
        """Pre-dose rules judge readings until the dose is given, post-dose rules after it."""
        dosed = self.dose_time is not None and time >= self.dose_time
        phase = self.rule.phase
        return phase == "any" or (phase == "post-dose") == dosed

    def _fired(self, level: Level, time: datetime) -> bool:
        run = self.runs[level]
        if level is Level.CRITICAL:
            return True
        if self.rule.persist_s > 0:
            return (time - run.start).total_seconds() >= self.rule.persist_s
        return run.count >= self.rule.persist_readings

    def _open(self, level: Level, value: float, time: datetime) -> Episode:
        first = min(self.runs.values(), key=lambda r: r.start)
        pick = max if self.rule.direction is Direction.HIGH else min
        peak_value, peak_time = pick(
            zip(first.values, first.times, strict=True), key=lambda p: p[0]
        )
        self.episode = Episode(
            rule=self.rule.name,
            kind=CLINICAL,
            level=level,
            started=first.start,
            param=self.rule.param,
            peak_value=peak_value,
            peak_time=peak_time,
            reason=self._reason(level, value),
            triggers=tuple(first.times),
            rule_snapshot=self.rule.to_dict()
            | {"baseline": self.offset if self.rule.relative else None},
        )
        return self.episode

    def _update(self, fired: Level | None, value: float, time: datetime) -> Episode | None:
        episode = self.episode
        changes: dict = {}
        if self._more_extreme(value, episode.peak_value):
            changes |= {"peak_value": value, "peak_time": time}
        if fired is not None and fired > episode.level:
            changes |= {"level": fired, "reason": self._reason(fired, value)}
        lowest = self.threshold(self.rule.tiers[0][0])
        clear = (
            lowest - self.rule.hysteresis
            if self.rule.direction is Direction.HIGH
            else lowest + self.rule.hysteresis
        )
        if not self._beyond(value, clear):
            changes["ended"] = time
        if not changes:
            return None
        self.episode = replace(episode, **changes)
        if self.episode.ended is not None:
            self.runs.clear()
            ended, self.episode = self.episode, None
            return ended
        return self.episode

    def _more_extreme(self, value: float, peak: float | None) -> bool:
        if peak is None:
            return True
        return value > peak if self.rule.direction is Direction.HIGH else value < peak

    def _reason(self, level: Level, value: float) -> str:
        rule = self.rule
        op = "≥" if rule.direction is Direction.HIGH else "≤"
        line = f"{self.threshold(level):g}"
        if rule.relative:
            sign = "+" if rule.threshold(level) >= 0 else "-"
            line = f"baseline {self.offset:g} {sign} {abs(rule.threshold(level)):g} = {line}"
        run = self.runs[level]
        span = f"{run.count} reading" + ("s" if run.count != 1 else "")
        if rule.persist_s > 0 and run.count > 1:
            span += f" over {(run.times[-1] - run.start).total_seconds():.0f} s"
        return f"{rule.param.value.upper()} {value:g} {op} {line} for {span} ({level.label})"


class InvalidTracker:
    """Invalid or artifact readings of a parameter: a technical advisory, never a clinical alarm."""

    def __init__(self, param: Param) -> None:
        self.param = param
        self.episode: Episode | None = None

    def feed(self, reading: Reading) -> Episode | None:
        bad = reading.quality is not Quality.OK or reading.value is None
        if bad and self.episode is None:
            what = "no data" if reading.value is None else f"implausible value {reading.value:g}"
            self.episode = Episode(
                rule=f"invalid-{self.param.value}",
                kind=TECHNICAL,
                level=Level.ADVISORY,
                started=reading.time,
                param=self.param,
                reason=f"{self.param.value.upper()} {reading.quality.value}: {what}",
                triggers=(reading.time,),
            )
            return self.episode
        if not bad and self.episode is not None:
            ended, self.episode = replace(self.episode, ended=reading.time), None
            return ended
        return None


class AlertEngine:
    """All trackers of one chair's stream. ``feed`` returns the episodes that changed."""

    def __init__(
        self,
        rules: RuleSet,
        baselines: Mapping[Param, float | None] | None = None,
        dose_time: datetime | None = None,
    ) -> None:
        baselines = baselines or {}
        self.trackers: dict[Param, list[RuleTracker]] = {}
        for rule in rules.rules:
            tracker = RuleTracker(rule, baselines.get(rule.param), dose_time)
            self.trackers.setdefault(rule.param, []).append(tracker)
        self.invalid = {param: InvalidTracker(param) for param in Param}

    def feed(self, reading: Reading) -> list[Episode]:
        changed = [t.feed(reading) for t in self.trackers.get(reading.param, [])]
        changed.append(self.invalid[reading.param].feed(reading))
        return [e for e in changed if e is not None]

    def feed_many(self, readings: Iterable[Reading]) -> list[Episode]:
        return [episode for r in readings for episode in self.feed(r)]

    def open_episodes(self) -> list[Episode]:
        trackers = [t for ts in self.trackers.values() for t in ts] + list(self.invalid.values())
        return [t.episode for t in trackers if t.episode is not None]


def evaluate(
    rules: RuleSet,
    readings: Iterable[Reading],
    baselines: Mapping[Param, float | None] | None = None,
    dose_time: datetime | None = None,
) -> list[Episode]:
    """Every episode a stream raises, in order of start: the review path."""
    latest: dict[tuple, Episode] = {}
    for episode in AlertEngine(rules, baselines, dose_time).feed_many(readings):
        latest[episode.key] = episode
    return sorted(latest.values(), key=lambda e: (e.started, e.rule))
