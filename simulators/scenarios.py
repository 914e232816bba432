"""Named session scenarios: who the patient is and what the session will do to them.

Starting points, each checked against its source:
- IV racemic ketamine 0.5 mg/kg over 40 min: BP peaks ~30-40 min after the infusion starts
  and is back to baseline 60-90 min after it ends (Szarmach et al. 2020; Riva-Posse et al.
  2018 report a mean SBP rise of ~3 mmHg); a community cohort shows SBP +16 +/- 11 and
  DBP +11 +/- 8 mmHg with severe rises in ~12 % of patients
  (doi 10.1016/j.genhosppsych.2024.07.001), the figures used for ``typical`` here.
- Esketamine nasal spray 56/84 mg: mean peak rise ~7-9 mmHg SBP and ~4-6 mmHg DBP about
  40 min after the dose, lasting up to ~4 h (SPRAVATO US prescribing information, 5.6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vitals.errors import ConfigError


@dataclass(frozen=True)
class Outage:
    """The link fails at ``start_s`` after the dose for ``duration_s`` simulated seconds.

    ``vanish`` closes the port so opening it fails; otherwise the line just goes silent.
    """

    start_s: float
    duration_s: float
    vanish: bool


@dataclass(frozen=True)
class Scenario:
    name: str
    route: str  # "iv" or "nasal"
    sbp_rise: tuple[float, float]  # mean, sd of the peak rise (mmHg)
    dbp_rise: tuple[float, float]
    hr_change: tuple[float, float]
    hr_target: float | None = None  # drive HR towards this at the peak instead of a change
    sbp_target: float | None = None  # drive SBP at least to this at the peak
    spo2_drop: float = 0.0
    outages: tuple[Outage, ...] = field(default_factory=tuple)


IV_TYPICAL = dict(route="iv", sbp_rise=(16, 11), dbp_rise=(11, 8), hr_change=(8, 5))

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("typical", **IV_TYPICAL),
        Scenario("esketamine", route="nasal", sbp_rise=(8, 4), dbp_rise=(5, 3), hr_change=(4, 3)),
        Scenario("hypertensive", **IV_TYPICAL | {"dbp_rise": (28, 4)}, sbp_target=192),
        Scenario("tachycardia", **IV_TYPICAL, hr_target=132),
        Scenario("bradycardia", **IV_TYPICAL | {"hr_change": (0, 0)}, hr_target=42),
        Scenario("desaturation", **IV_TYPICAL, spo2_drop=12),
        Scenario(
            "disconnect",
            **IV_TYPICAL,
            outages=(Outage(15 * 60, 120, vanish=True), Outage(30 * 60, 180, vanish=False)),
        ),
    )
}


def scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ConfigError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
