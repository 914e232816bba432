"""What the simulated nurse and patient enter in a demo session, so the whole treatment course
shows: the patient's PHQ-9 when the session opens, each scale of the protocol when it falls
due (by the wall clock, as the tile counts), the side-effect checklist before the end.

Scores come from ``simulators.scores`` (the label's sedation and dissociation rates), one
draw per session from the simulation's seed, so a demo run is repeatable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from simulators.scores import SessionEffects, draw_effects, phq9_answers
from vitals.questionnaires import SIDE_EFFECTS, Phq9
from vitals.scales import protocol_scales
from vitals.store.measures import record_phq9, record_score, record_side_effects

NURSE = "simulator"
PATIENT = "patient (simulated tablet)"


@dataclass
class _Course:
    protocol: str
    effects: SessionEffects
    dose: datetime | None = None
    done: set[tuple[str, float]] = field(default_factory=set)


class SimulatedScores:
    def __init__(self, db: Path, seed: int) -> None:
        self.db = db
        self.rng = random.Random(seed)
        self.courses: dict[int, _Course] = {}

    def opened(self, session: int, protocol: str, scenario: str) -> None:
        """The patient fills the PHQ-9 on the tablet before the dose."""
        effects = draw_effects(self.rng, desaturates=scenario == "desaturation")
        self.courses[session] = _Course(protocol, effects)
        total = self.rng.randint(12, 22)
        record_phq9(self.db, session, Phq9(phq9_answers(self.rng, total)), PATIENT)

    def dosed(self, session: int, at: datetime) -> None:
        if session in self.courses and self.courses[session].dose is None:
            self.courses[session].dose = at

    def due(self, now: datetime) -> None:
        """Log every scale whose time has come and that is not logged yet."""
        for session, course in self.courses.items():
            if course.dose is None:
                continue
            for scale in protocol_scales(course.protocol):
                for minute in scale.minutes:
                    key = (scale.name, minute)
                    if key in course.done or now < course.dose + timedelta(minutes=minute):
                        continue
                    course.done.add(key)
                    score = {"sedation": course.effects.moaas, "dissociation": course.effects.cadss}
                    value = score.get(scale.name, course.effects.respiratory)(minute)
                    record_score(self.db, session, scale.name, value, NURSE)

    def ending(self, session: int) -> None:
        """The patient ticks the side-effect checklist before leaving."""
        if session not in self.courses:
            return
        felt = {name: self.rng.choice((0, 0, 0, 1, 1, 2)) for name in SIDE_EFFECTS[:5]}
        record_side_effects(self.db, session, felt, PATIENT)
