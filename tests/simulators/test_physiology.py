"""The session model: seeded, shaped like the cited sources, each scenario doing its job."""

from itertools import pairwise

import pytest

from simulators.physiology import PRE_DOSE_S, PatientModel, effect
from simulators.scenarios import SCENARIOS, scenario
from vitals.errors import ConfigError
from vitals.reading import Param


def run(name: str, minutes: float, seed: int = 7) -> tuple[PatientModel, list]:
    model = PatientModel(scenario(name), seed)
    nibp = []
    for _ in range(int(minutes * 60)):
        if model.step():
            nibp.append((model.t, model.nibp))
    return model, nibp


def test_same_seed_same_patient_and_session() -> None:
    assert run("typical", 30)[1] == run("typical", 30)[1]
    assert run("typical", 30, seed=1)[1] != run("typical", 30, seed=2)[1]


def test_iv_effect_peaks_30_to_40_min_and_is_gone_60_to_90_min_after_the_infusion() -> None:
    curve = {m: effect("iv", m * 60) for m in range(0, 200)}
    peak_minute = max(curve, key=curve.get)
    assert 30 <= peak_minute <= 40
    assert curve[0] == 0 and effect("iv", -60) == 0
    assert curve[40 + 60] < 0.15 and curve[40 + 90] < 0.05


def test_nasal_effect_peaks_near_40_min_and_lasts_about_4_hours() -> None:
    assert max(range(0, 300), key=lambda m: effect("nasal", m * 60)) == 40
    assert effect("nasal", 120 * 60) > 0.2 and effect("nasal", 240 * 60) < 0.05


def test_nibp_on_a_cycle_and_on_request() -> None:
    model = PatientModel(scenario("typical"), 1, nibp_interval_s=300)
    done = [model.t for _ in range(20 * 60) if model.step()]
    assert len(done) == 4 and all(b - a == 300 for a, b in pairwise(done))
    model.request_nibp()
    assert any(model.step() for _ in range(40))


def test_hypertensive_scenario_passes_180_systolic() -> None:
    _, nibp = run("hypertensive", 60)
    assert max(s for _, (s, _d, _m) in nibp if s is not None) > 180


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("tachycardia", lambda m: m.true_value(Param.HR) > 120),
        ("bradycardia", lambda m: m.true_value(Param.HR) < 50),
        ("desaturation", lambda m: m.true_value(Param.SPO2) < 90),
    ],
)
def test_heart_rate_and_saturation_scenarios_at_the_peak(name: str, check) -> None:
    model, _ = run(name, PRE_DOSE_S / 60 + 35)
    assert check(model)


def test_disconnect_scenario_has_a_vanishing_and_a_silent_outage() -> None:
    outages = scenario("disconnect").outages
    assert [o.vanish for o in outages] == [True, False]
    model = PatientModel(scenario("disconnect"), 1)
    model.t = PRE_DOSE_S + outages[0].start_s
    assert model.in_outage() == (True, True)
    model.t = PRE_DOSE_S + outages[1].start_s + 1
    assert model.in_outage() == (True, False)


def test_artifacts_include_an_implausible_zero_heart_rate() -> None:
    model, _ = run("typical", 180, seed=3)
    hrs = []
    for _ in range(3 * 3600):
        model.step()
        hrs.append(model.hr)
    assert 0 in hrs  # lead-off episodes exist for the recorder to flag


def test_unknown_scenario_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="known: typical"):
        scenario("panic")
    assert {
        "typical",
        "hypertensive",
        "tachycardia",
        "bradycardia",
        "desaturation",
        "disconnect",
    } <= set(SCENARIOS)
