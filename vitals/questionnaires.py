"""What the patient reports: the PHQ-9 before a session and a side-effect checklist after it.

PHQ-9 (Kroenke, Spitzer & Williams, J Gen Intern Med 2001;16:606; Pfizer placed it in the
public domain, no permission needed to reproduce it): nine items scored 0-3 over the last two
weeks, total 0-27; 5, 10, 15 and 20 are the cut-points of mild, moderate, moderately severe
and severe depression. Across a course, *response* is a total at least 50 % below the first
one and *remission* a total below 5 (the usual PHQ-9 definitions, e.g. Kroenke 2001 and the
issue this module answers). Item 9 (thoughts of death or self-harm) answered above 0 is
flagged for the nurse at once, whatever the total.

Stored as session events, so they are audited and append-only: ``phq9`` with the total as its
value and the nine answers in its text (``items 1 2 0 3 1 0 2 1 0``); each side effect the
patient reports as a ``symptom`` event (severity 1-3), and the completed checklist as one
``side-effects`` event whose value is how many were reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vitals.errors import ConfigError

PHQ9_STEM = (
    "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
)
PHQ9_ITEMS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself — or that you are a failure or have let yourself or your "
    "family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
    "being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
)
PHQ9_ANSWERS = ("Not at all", "Several days", "More than half the days", "Nearly every day")
PHQ9_BANDS = ((20, "severe"), (15, "moderately severe"), (10, "moderate"), (5, "mild"))
RESPONSE_DROP = 0.5  # a total at least 50 % below the course's first
REMISSION_BELOW = 5

# The label's common adverse reactions (SPRAVATO PI 6.1), in a patient's words.
SIDE_EFFECTS = (
    "Feeling disconnected or strange (dissociation)",
    "Dizziness",
    "Spinning sensation (vertigo)",
    "Nausea",
    "Vomiting",
    "Sleepiness",
    "Numbness or tingling",
    "Anxiety",
    "Headache",
    "Feeling drunk",
)
SEVERITIES = ("none", "mild", "moderate", "severe")


@dataclass(frozen=True)
class Phq9:
    """One completed PHQ-9."""

    answers: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.answers) != len(PHQ9_ITEMS) or any(a not in (0, 1, 2, 3) for a in self.answers):
            raise ConfigError(f"a PHQ-9 needs nine answers each 0-3, got {list(self.answers)}")

    @property
    def total(self) -> int:
        return sum(self.answers)

    @property
    def severity(self) -> str:
        return next((name for cut, name in PHQ9_BANDS if self.total >= cut), "minimal")

    @property
    def self_harm_flag(self) -> bool:
        """Item 9 above 0: the nurse must see it before the patient leaves."""
        return self.answers[8] > 0

    def event_text(self) -> str:
        return "items " + " ".join(str(a) for a in self.answers)

    @classmethod
    def from_event_text(cls, text: str) -> Phq9:
        words = text.split()
        if not words or words[0] != "items":
            raise ConfigError(f"not a stored PHQ-9: {text!r}")
        return cls(tuple(int(w) for w in words[1:]))


@dataclass(frozen=True)
class CoursePoint:
    """One PHQ-9 total in a course, judged against the first."""

    total: int
    change_pct: float | None  # from the course's first total; None for the first itself
    response: bool
    remission: bool


def judge_course(totals: Sequence[int]) -> list[CoursePoint]:
    """Response (at least 50 % below the first total) and remission (below 5), total by total,
    oldest first. A first total of 0 has nothing to drop from: no response is claimed."""
    if not totals:
        return []
    first = totals[0]
    points = []
    for n, total in enumerate(totals):
        change = None if n == 0 or first == 0 else (total - first) / first * 100
        response = n > 0 and first > 0 and total <= first * (1 - RESPONSE_DROP)
        points.append(CoursePoint(total, change, response, total < REMISSION_BELOW))
    return points


def side_effect_report(severities: Mapping[str, int]) -> list[tuple[str, int]]:
    """The side effects reported (severity 1-3), in checklist order; unknown ones refused."""
    unknown = sorted(set(severities) - set(SIDE_EFFECTS))
    if unknown:
        raise ConfigError(f"unknown side effect(s) {unknown}; the checklist has {SIDE_EFFECTS}")
    bad = {k: v for k, v in severities.items() if v not in range(len(SEVERITIES))}
    if bad:
        raise ConfigError(f"severity must be 0-3 ({', '.join(SEVERITIES)}), got {bad}")
    return [(name, severities[name]) for name in SIDE_EFFECTS if severities.get(name, 0) > 0]
