"""A ketamine session as seen by a bedside monitor, one simulated second at a time.

The model is deliberately simple and fully seeded: a per-patient baseline, a drug-effect curve
(0 before the dose, 1 at the peak) that scales each parameter's change, autocorrelated
measurement noise, occasional artifacts, and an NIBP cuff cycling on a schedule or on request.
Same seed, same patient, same session: tests and demos are reproducible.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass

from simulators.scenarios import Scenario
from vitals.reading import Param

PRE_DOSE_S = 10 * 60  # a quiet baseline period before the dose, for the baseline median
IV_INFUSION_S = 40 * 60  # 0.5 mg/kg over 40 min
NIBP_DURATION_S = 35  # an oscillometric cycle takes ~30-40 s from inflation to result
ARTIFACT_RATE = 1 / 900  # one motion or lead-off episode per ~15 simulated minutes
NIBP_FAILURE_RATE = 1 / 40


@dataclass(frozen=True)
class Baseline:
    sbp: float
    dbp: float
    hr: float
    spo2: float


def effect(route: str, since_dose_s: float) -> float:
    """Fraction of the peak drug effect on BP/HR at ``since_dose_s`` (0 before the dose)."""
    if since_dose_s <= 0:
        return 0.0
    minutes = since_dose_s / 60
    if route == "iv":  # peak ~35 min into the infusion, ~5 % left 75 min after it ends
        peak, plateau_end, tau = 35.0, 40.0, 25.0
    else:  # nasal: peak ~40 min after the dose, mostly gone by ~4 h
        peak, plateau_end, tau = 40.0, 40.0, 60.0
    if minutes <= peak:
        return 1 - (1 - minutes / peak) ** 2
    if minutes <= plateau_end:
        return 1.0
    return math.exp(-(minutes - plateau_end) / tau)


class PatientModel:
    """Advance with ``step()``; read the monitor's current values from the attributes."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        nibp_interval_s: float = 300,
        baseline: Baseline | None = None,
    ) -> None:
        """``baseline`` fixes who the patient is (one patient across a course of sessions);
        without it the seed draws one."""
        self.scenario = scenario
        self.rng = random.Random(seed)
        self._lock = threading.Lock()
        self.nibp_interval_s = nibp_interval_s
        self.t = 0  # simulated seconds since the session (and the baseline period) began
        self.dose_at_s = PRE_DOSE_S
        self.baseline = baseline or self._draw_baseline()
        self._peak = self._draw_peak_changes()
        self._noise = {Param.HR: 0.0, Param.SPO2: 0.0}
        self._artifact_left = 0
        self._artifact_kind = ""
        self._cuff_done_at: float | None = None
        self._next_cycle_at = 60.0
        self.hr: float | None = None
        self.pulse: float | None = None
        self.spo2: float | None = None
        self.nibp: tuple[float | None, float | None, float | None] = (None, None, None)
        self.nibp_count = 0

    def _draw_baseline(self) -> Baseline:
        r = self.rng
        sbp = min(150.0, max(105.0, r.gauss(124, 10)))  # an adult fit for an outpatient dose
        dbp = min(92.0, max(60.0, sbp - r.gauss(45, 6)))
        return Baseline(
            sbp, dbp, min(100.0, max(55.0, r.gauss(74, 8))), min(99.0, r.gauss(97.5, 0.8))
        )

    def _draw_peak_changes(self) -> dict[Param, float]:
        s, r, base = self.scenario, self.rng, self.baseline
        sbp = max(0.0, r.gauss(*s.sbp_rise))
        if s.sbp_target is not None:
            sbp = max(sbp, s.sbp_target - base.sbp + r.gauss(0, 4))
        hr = r.gauss(*s.hr_change)
        if s.hr_target is not None:
            hr = s.hr_target - base.hr + r.gauss(0, 3)
        return {Param.SBP: sbp, Param.DBP: max(0.0, r.gauss(*s.dbp_rise)), Param.HR: hr}

    def true_value(self, param: Param) -> float:
        """The patient's value without noise or artifacts at the current second."""
        e = effect(self.scenario.route, self.t - self.dose_at_s)
        base = self.baseline
        if param is Param.SBP:
            return base.sbp + e * self._peak[Param.SBP]
        if param is Param.DBP:
            return base.dbp + e * self._peak[Param.DBP]
        if param is Param.HR:
            return base.hr + e * self._peak[Param.HR]
        if param is Param.SPO2:
            return base.spo2 - e * self.scenario.spo2_drop
        raise ValueError(f"no model for {param}")

    @property
    def artifact(self) -> str:
        """The artifact disturbing the measurement now ("motion", "lead-off"), or ""."""
        return self._artifact_kind if self._artifact_left else ""

    def request_nibp(self) -> None:
        """Start a cuff measurement now (a nurse pressed "BP check"), unless one is running."""
        if self._cuff_done_at is None:
            self._cuff_done_at = self.t + NIBP_DURATION_S

    def advance_to(self, t: int) -> None:
        """Step to simulated second ``t``; safe when several monitors watch one patient."""
        with self._lock:
            while self.t < t:
                self.step()

    def step(self) -> bool:
        """Advance one second; True when an NIBP measurement completed in it."""
        self.t += 1
        self._update_artifact()
        self._update_continuous()
        if self._cuff_done_at is None and self.t >= self._next_cycle_at:
            self.request_nibp()
            self._next_cycle_at += self.nibp_interval_s
        if self._cuff_done_at is not None and self.t >= self._cuff_done_at:
            self._cuff_done_at = None
            self.nibp = self._measure_nibp()
            self.nibp_count += 1
            return True
        return False

    def _update_artifact(self) -> None:
        if self._artifact_left > 0:
            self._artifact_left -= 1
        elif self.rng.random() < ARTIFACT_RATE:
            self._artifact_left = self.rng.randint(3, 8)
            self._artifact_kind = self.rng.choice(("motion", "lead-off"))

    def _update_continuous(self) -> None:
        for param, sd in ((Param.HR, 1.5), (Param.SPO2, 0.4)):
            self._noise[param] = 0.9 * self._noise[param] + self.rng.gauss(0, sd * 0.44)
        hr = self.true_value(Param.HR) + self._noise[Param.HR]
        spo2 = min(100.0, self.true_value(Param.SPO2) + self._noise[Param.SPO2])
        pulse = hr + self.rng.gauss(0, 0.7)
        if self._artifact_left and self._artifact_kind == "motion":
            # a moving hand: brief HR spikes and a shallow SpO2 dip, too short to persist
            hr, pulse, spo2 = hr * 1.45, pulse * 1.5, spo2 - self.rng.uniform(3, 8)
        if self._artifact_left and self._artifact_kind == "lead-off":
            hr = 0.0  # a monitor with a lead off may send 0: the recorder must flag it
        self.hr, self.pulse, self.spo2 = round(hr), round(pulse), round(spo2)

    def _measure_nibp(self) -> tuple[float | None, float | None, float | None]:
        if self.rng.random() < NIBP_FAILURE_RATE:
            return (None, None, None)  # the cuff gave up: the monitor shows no value
        sbp = self.true_value(Param.SBP) + self.rng.gauss(0, 4)
        dbp = self.true_value(Param.DBP) + self.rng.gauss(0, 3)
        mean = dbp + (sbp - dbp) / 3 + self.rng.gauss(0, 2)
        return (round(sbp), round(dbp), round(mean))

    def display(self) -> dict[Param, float | None]:
        """What the monitor's screen shows now: the latest of every parameter."""
        sbp, dbp, mean = self.nibp
        return {
            Param.HR: self.hr,
            Param.PULSE: self.pulse,
            Param.SPO2: self.spo2,
            Param.SBP: sbp,
            Param.DBP: dbp,
            Param.MAP: mean,
        }

    def in_outage(self) -> tuple[bool, bool]:
        """(link down, port vanished) at the current second, from the scenario's outages."""
        since_dose = self.t - self.dose_at_s
        for outage in self.scenario.outages:
            if outage.start_s <= since_dose < outage.start_s + outage.duration_s:
                return True, outage.vanish
        return False, False
