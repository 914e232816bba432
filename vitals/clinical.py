"""Clinical protocol presets: data files in vitals/protocols/, one per protocol, with sources.

A protocol says which rules are in force, how the baseline is taken, when blood pressure must
be checked, and when a patient may go home. Sessions copy the preset (plus any overrides) at
start, so later edits to a file never rewrite what a past session was monitored under.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vitals.errors import ConfigError
from vitals.reading import Param
from vitals.rules import Level, Rule, RuleSet

PROTOCOL_DIR = Path(__file__).parent / "protocols"
COMMON_RULES = "common-rules.toml"
NO_SESSION = "no-session"


@dataclass(frozen=True)
class BaselineSpec:
    window_min: float
    min_readings: int
    params: tuple[Param, ...]
    source: str
    required_before_dose: Level | None = None  # alert level when the dose has no BP before it


@dataclass(frozen=True)
class SchedulePhase:
    from_min: float
    until_min: float | None
    every_min: float


@dataclass(frozen=True)
class Schedule:
    """BP checks due at fixed minutes after the dose: each phase repeats ``every_min`` from its
    start up to its end (the last phase until the session ends). A check taken from
    ``early_min`` before to ``grace_min`` after a due time counts for it."""

    phases: tuple[SchedulePhase, ...]
    grace_min: float
    overdue_level: Level
    source: str
    early_min: float = 0.0


@dataclass(frozen=True)
class DischargeCriteria:
    """When a patient may go home: the protocol's minimum observation, a BP after the expected
    peak, a recent BP, the last ones settled (within a margin of baseline or not above the
    absolute limits), and no alarm waiting for a nurse."""

    min_minutes_after_dose: float
    peak_min: float
    max_bp_age_min: float
    last_readings: int
    within_baseline_pct: float
    sbp_max: float
    dbp_max: float
    source: str


@dataclass(frozen=True)
class ClinicalProtocol:
    name: str
    title: str
    route: str
    requires: tuple[str, ...]
    rules: RuleSet
    baseline: BaselineSpec | None
    schedule: Schedule | None
    discharge: DischargeCriteria | None
    source: str
    dose_mg_per_kg: float | None = None
    allowed_doses_mg: tuple[float, ...] = ()
    infusion_min: float | None = None


def protocol_names() -> list[str]:
    return sorted(p.stem for p in PROTOCOL_DIR.glob("*.toml") if p.name != COMMON_RULES)


@functools.lru_cache(maxsize=32)
def load_protocol(name: str) -> ClinicalProtocol:
    """A preset by name; ``no-session`` is the common rules alone, for chairs without a session."""
    if name == NO_SESSION:
        return ClinicalProtocol(
            NO_SESSION,
            "No session: monitor limits",
            "",
            (),
            _common_rules(),
            None,
            None,
            None,
            "common-rules.toml",
        )
    path = PROTOCOL_DIR / f"{name}.toml"
    if name == COMMON_RULES.removesuffix(".toml") or not path.exists():
        raise ConfigError(f"unknown protocol preset {name!r}; known: {', '.join(protocol_names())}")
    data = _read(path)
    try:
        return _protocol(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"protocol file {path.name} is malformed: {exc!r}") from None


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"protocol file {path.name} is not valid TOML: {exc}") from None


def _common_rules() -> RuleSet:
    return RuleSet(tuple(Rule.from_dict(r) for r in _read(PROTOCOL_DIR / COMMON_RULES)["rules"]))


def _protocol(data: dict[str, Any]) -> ClinicalProtocol:
    rules = _common_rules().rules if data.get("include_rules") == COMMON_RULES else ()
    rules += tuple(Rule.from_dict(r) for r in data.get("rules", []))
    names = [r.name for r in rules]
    if len(names) != len(set(names)):
        raise ValueError(f"rule names repeat: {names}")
    base, sched, dis = data["baseline"], data["schedule"], data["discharge"]
    return ClinicalProtocol(
        name=data["name"],
        title=data["title"],
        route=data["route"],
        requires=tuple(data.get("requires", ())),
        rules=RuleSet(rules),
        baseline=BaselineSpec(
            base["window_min"],
            base["min_readings"],
            tuple(Param(p) for p in base["params"]),
            base["source"],
            Level.parse(base["required_before_dose"]) if "required_before_dose" in base else None,
        ),
        schedule=Schedule(
            tuple(
                SchedulePhase(p["from_min"], p.get("until_min"), p["every_min"])
                for p in sched["phases"]
            ),
            sched["grace_min"],
            Level.parse(sched["overdue_level"]),
            sched["source"],
            sched.get("early_min", 0.0),
        ),
        discharge=DischargeCriteria(**dis),
        source=data["source"],
        dose_mg_per_kg=data.get("dose_mg_per_kg"),
        allowed_doses_mg=tuple(data.get("allowed_doses_mg", ())),
        infusion_min=data.get("infusion_min"),
    )
