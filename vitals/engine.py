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
- Heart-rate rules judge one stream per chair: the best valid of the chair's heart-rate
  sources (``vitals.heart_rate``), so one heartbeat never rings two alarms, and a chair whose
  only heart rate is the oximeter's pulse is watched like one with an ECG.
- Pre-dose rules end at the dose, saying who dosed despite them; a protocol that asks for a
  blood pressure before the dose raises a warning at the dose when none was taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from vitals.heart_rate import HEART_RATE_PARAMS, HeartRateSelector, HeartRateSources
from vitals.reading import Param, Quality, Reading
from vitals.rules import Direction, Level, Rule, RuleSet

CLINICAL = "clinical"
TECHNICAL = "technical"
NO_PRE_DOSE_BP = "no-pre-dose-bp"
SWITCHED = "; heart rate now from "


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


@dataclass(frozen=True)
class Dose:
    """The session's dose as the engine needs it: when, by whom, and the protocol's pre-dose
    BP requirement (the level to raise when no BP was taken before it, or None)."""

    time: datetime
    by: str = ""
    bp_required: Level | None = None
    bp_entered: bool = False  # a pre-dose BP was entered by hand (taken elsewhere)


@dataclass
class _Run:
    start: datetime
    count: int = 0
    times: list[datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


class RuleTracker:
    """State of one clinical rule over one stream."""

    def __init__(self, rule: Rule, baseline: float | None = None, dose: Dose | None = None) -> None:
        self.rule = rule
        self.dose = dose
        self.offset = baseline if rule.relative else 0.0
        self.active = not rule.relative or baseline is not None
        # each tier's line, worked out once: this runs for every reading of a day
        self.lines = tuple((level, self.threshold(level)) for level, _ in rule.tiers)
        self.runs: dict[Level, _Run] = {}
        self.episode: Episode | None = None
        self.via = ""  # the heart-rate source of the newest judged reading

    def threshold(self, level: Level) -> float:
        return self.rule.threshold(level) + (self.offset or 0.0)

    def feed(self, reading: Reading, via: str = "") -> Episode | None:
        """Judge one reading of this rule's parameter; returns the episode if it changed.

        ``via`` names the heart-rate source the reading came from, for the reason."""
        if not self.active or reading.quality is not Quality.OK or reading.value is None:
            return None
        if not self._in_phase(reading.time):
            return None
        value, time = reading.value, reading.time
        switched = bool(self.episode) and via != self.via
        self.via = via
        for level, line in self.lines:
            if self.rule.beyond(value, line):
                run = self.runs.setdefault(level, _Run(time))
                run.count += 1
                run.times.append(time)
                run.values.append(value)
            else:
                self.runs.pop(level, None)
        fired = [level for level in self.runs if self._fired(level, time)]
        if self.episode is None:
            return self._open(max(fired), value, time) if fired else None
        return self._update(max(fired) if fired else None, value, time, switched)

    def pass_dose(self) -> Episode | None:
        """A pre-dose rule's open episode ends at the dose, recording who dosed despite it."""
        if self.rule.phase != "pre-dose" or self.episode is None or self.dose is None:
            return None
        who = f"given by {self.dose.by} " if self.dose.by else "given "
        ended = replace(
            self.episode,
            ended=self.dose.time,
            reason=f"{self.episode.reason} (ended at the dose, {who}despite this alert)",
        )
        self.episode = None
        self.runs.clear()
        return ended

    def _in_phase(self, time: datetime) -> bool:
        """Pre-dose rules judge readings until the dose is given, post-dose rules after it."""
        dosed = self.dose is not None and time >= self.dose.time
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

    def _update(
        self, fired: Level | None, value: float, time: datetime, switched: bool
    ) -> Episode | None:
        episode = self.episode
        changes: dict = {}
        if self._more_extreme(value, episode.peak_value):
            changes |= {"peak_value": value, "peak_time": time}
        if fired is not None and fired > episode.level:
            changes |= {"level": fired, "reason": self._reason(fired, value)}
        elif switched:  # the heart rate now comes from another source: say which
            changes["reason"] = episode.reason.split(SWITCHED)[0] + f"{SWITCHED}{self.via}"
        if self._cleared(value):
            changes["ended"] = time
        if not changes:
            return None
        self.episode = replace(episode, **changes)
        if self.episode.ended is not None:
            self.runs.clear()
            ended, self.episode = self.episode, None
            return ended
        return self.episode

    def _cleared(self, value: float) -> bool:
        """Back beyond the lowest threshold by the hysteresis (strictly), so the episode ends."""
        lowest = self.threshold(self.rule.tiers[0][0])
        if self.rule.direction is Direction.HIGH:
            return value < lowest - self.rule.hysteresis
        return value > lowest + self.rule.hysteresis

    def _more_extreme(self, value: float, peak: float | None) -> bool:
        if peak is None:
            return True
        return value > peak if self.rule.direction is Direction.HIGH else value < peak

    def _reason(self, level: Level, value: float) -> str:
        rule = self.rule
        line = f"{self.threshold(level):g}"
        if rule.relative:
            sign = "+" if rule.threshold(level) >= 0 else "-"
            line = f"baseline {self.offset:g} {sign} {abs(rule.threshold(level)):g} = {line}"
        name = rule.param.value.upper() + (f" ({self.via})" if self.via else "")
        run = self.runs[level]
        span = f"{run.count} reading" + ("s" if run.count != 1 else "")
        if rule.persist_s > 0 and run.count > 1:
            span += f" over {(run.times[-1] - run.start).total_seconds():.0f} s"
        return f"{name} {value:g} {rule.operator} {line} for {span} ({level.label})"


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


class PreDoseBpCheck:
    """A dose given with no blood pressure taken before it (in the session, or entered by
    hand): an alarm at the dose that ends at the first blood pressure after it."""

    def __init__(self, dose: Dose | None) -> None:
        self.dose = dose
        self.seen = dose is None or dose.bp_required is None or dose.bp_entered
        self.passed = dose is None  # nothing to check without a dose
        self.episode: Episode | None = None

    def feed(self, reading: Reading) -> Episode | None:
        if self.passed and self.episode is None:
            return None
        is_bp = _valid(reading) and reading.param is Param.SBP
        if self.dose is None or reading.time < self.dose.time:
            self.seen = self.seen or is_bp
            return None
        opened = self.pass_dose()
        if self.episode is not None and is_bp:
            ended = replace(
                self.episode,
                ended=reading.time,
                reason=f"{self.episode.reason}; first BP after the dose: SBP {reading.value:g}",
            )
            self.episode = None
            return ended
        return opened

    def pass_dose(self) -> Episode | None:
        if self.passed or self.dose is None:
            return None
        self.passed = True
        if self.seen:
            return None
        who = f" by {self.dose.by}" if self.dose.by else ""
        self.episode = Episode(
            rule=NO_PRE_DOSE_BP,
            kind=CLINICAL,
            level=self.dose.bp_required,
            started=self.dose.time,
            param=Param.SBP,
            reason=f"dose given{who} with no blood pressure taken before it; relative alerts "
            "stay off until a baseline is entered by hand",
            triggers=(self.dose.time,),
        )
        return self.episode


def _valid(reading: Reading) -> bool:
    return reading.quality is Quality.OK and reading.value is not None


class AlertEngine:
    """All trackers of one chair's stream. ``feed`` returns the episodes that changed."""

    def __init__(
        self,
        rules: RuleSet,
        baselines: Mapping[Param, float | None] | None = None,
        dose: Dose | datetime | None = None,
        heart_rate: HeartRateSources | None = None,
    ) -> None:
        baselines = baselines or {}
        self.dose = Dose(dose) if isinstance(dose, datetime) else dose
        self.trackers: dict[Param, list[RuleTracker]] = {}
        for rule in rules.rules:
            tracker = RuleTracker(rule, baselines.get(rule.param), self.dose)
            self.trackers.setdefault(rule.param, []).append(tracker)
        self.invalid = {param: InvalidTracker(param) for param in Param}
        self.pre_dose = PreDoseBpCheck(self.dose)
        self.heart_rate = HeartRateSelector(heart_rate or HeartRateSources())
        self._dose_passed = self.dose is None

    def feed(self, reading: Reading) -> list[Episode]:
        changed = self.tick(reading.time)
        if reading.param is not Param.HR:  # hr rules judge the chair's selected heart rate
            changed += [t.feed(reading) for t in self.trackers.get(reading.param, [])]
        if reading.param in HEART_RATE_PARAMS:
            chosen = self.heart_rate.feed(reading)
            if chosen is not None:
                changed += [t.feed(chosen, chosen.source) for t in self.trackers.get(Param.HR, [])]
        changed.append(self.invalid[reading.param].feed(reading))
        changed.append(self.pre_dose.feed(reading))
        return [e for e in changed if e is not None]

    def feed_many(self, readings: Iterable[Reading]) -> list[Episode]:
        return [episode for r in readings for episode in self.feed(r)]

    def tick(self, now: datetime) -> list:
        """Changes that time alone makes: at the dose, pre-dose episodes end (and a missing
        pre-dose BP is raised). The recorder calls this every second; readings call it too."""
        if self._dose_passed or now < self.dose.time:
            return []
        self._dose_passed = True
        trackers = [t for ts in self.trackers.values() for t in ts]
        changed = [t.pass_dose() for t in trackers] + [self.pre_dose.pass_dose()]
        return [e for e in changed if e is not None]

    def _all(self) -> list:
        trackers = [t for ts in self.trackers.values() for t in ts]
        return [*trackers, *self.invalid.values(), self.pre_dose]

    def open_episodes(self) -> list[Episode]:
        return [t.episode for t in self._all() if t.episode is not None]

    def adopt(self, stored: Episode) -> Episode | None:
        """Continue a stored open episode when the same rule holds now (after a rule change or
        a restart): the stored start, level and peak are kept, so the alarm has no gap and
        never de-escalates. None when the rule no longer holds."""
        for tracker in self._all():
            fresh = tracker.episode
            if fresh is None or fresh.rule != stored.rule:
                continue
            low = isinstance(tracker, RuleTracker) and tracker.rule.direction is Direction.LOW
            tracker.episode = _continued(stored, fresh, high=not low)
            return tracker.episode
        return None


def _continued(stored: Episode, fresh: Episode, high: bool) -> Episode:
    higher = fresh.level > stored.level
    peak_value, peak_time = stored.peak_value, stored.peak_time
    if fresh.peak_value is not None and (
        peak_value is None
        or (fresh.peak_value > peak_value if high else fresh.peak_value < peak_value)
    ):
        peak_value, peak_time = fresh.peak_value, fresh.peak_time
    return replace(
        stored,
        ended=None,
        level=max(stored.level, fresh.level),
        reason=fresh.reason if higher else stored.reason,
        peak_value=peak_value,
        peak_time=peak_time,
    )


def evaluate(
    rules: RuleSet,
    readings: Iterable[Reading],
    baselines: Mapping[Param, float | None] | None = None,
    dose: Dose | datetime | None = None,
    heart_rate: HeartRateSources | None = None,
) -> list[Episode]:
    """Every episode a stream raises, in order of start: the review path."""
    latest: dict[tuple, Episode] = {}
    for episode in AlertEngine(rules, baselines, dose, heart_rate).feed_many(readings):
        latest[episode.key] = episode
    return sorted(latest.values(), key=lambda e: (e.started, e.rule))
