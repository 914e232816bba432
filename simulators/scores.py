"""Plausible nurse-rated scores and PHQ-9 answers for simulated sessions, so the demo and the
committed sample show the whole treatment course.

Rates and time courses from the SPRAVATO label and J&J Medical Information:
- dissociation: 61-75 % of esketamine-treated patients had dissociative or perceptual changes
  (CADSS total above 4) (label 5.2); symptoms begin shortly after dosing, peak at about
  40 minutes and generally resolve by 1.5 hours;
- sedation: 48-61 % developed sedation on the MOAA/S (label 5.1), mostly mild (MOAA/S 4);
  onset about 15 minutes after the dose, peak at 30-45 minutes, resolved (MOAA/S 5) by
  1-1.5 hours; loss of consciousness (MOAA/S 0) in 0.3 %, so never simulated;
- respiratory status stays normal unless the scenario desaturates.
A course of PHQ-9 totals falls from a moderately severe start over the weeks, fast for a
patient who responds (the demo shows response, then remission) and slowly for one who does not.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DISSOCIATION_RATE = 0.68  # the middle of the label's 61-75 %
SEDATION_RATE = 0.55  # the middle of the label's 48-61 %
PEAK_MIN = 40.0


@dataclass(frozen=True)
class SessionEffects:
    """How this session's drug effect went: drawn once, then read at any minute."""

    cadss_peak: float
    moaas_deepest: int
    respiratory_depressed: bool = False

    def cadss(self, minute: float) -> float:
        """Rising to the peak at 40 min, about a tenth of it by 90, gone by 120."""
        if minute <= 0 or minute >= 120:
            return 0.0
        rising = minute <= PEAK_MIN
        share = minute / PEAK_MIN if rising else max(0.0, 1 - (minute - PEAK_MIN) / 55)
        return float(round(self.cadss_peak * share))

    def moaas(self, minute: float) -> int:
        """5 (alert) outside 15-75 min after the dose, the session's deepest in between."""
        return self.moaas_deepest if 15 <= minute <= 75 else 5

    def respiratory(self, minute: float) -> int:
        return 1 if self.respiratory_depressed and 20 <= minute <= 60 else 0


def draw_effects(rng: random.Random, desaturates: bool = False) -> SessionEffects:
    dissociated = rng.random() < DISSOCIATION_RATE
    peak = rng.randint(5, 28) if dissociated else rng.randint(0, 4)
    sedated = rng.random() < SEDATION_RATE
    deepest = (4 if rng.random() < 0.85 else 3) if sedated else 5
    return SessionEffects(float(peak), deepest, desaturates)


def phq9_answers(rng: random.Random, target_total: int) -> tuple[int, ...]:
    """Nine answers 0-3 summing to ``target_total`` (0-27), item 9 (self-harm) kept at 0 in
    simulated patients so the demo never raises that flag by chance."""
    answers = [0] * 9
    for _ in range(max(0, min(24, target_total))):
        open_items = [i for i in range(8) if answers[i] < 3]
        answers[rng.choice(open_items)] += 1
    return tuple(answers)


def course_totals(first: int, sessions: int, kept: float) -> list[int]:
    """PHQ-9 totals of a course, session by session, each ``kept`` of the one before: 0.68
    is a patient who responds by the third session and remits by the fifth, 0.85 one who
    improves without responding."""
    return [round(first * kept**n) for n in range(sessions)]
