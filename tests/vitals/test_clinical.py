"""Protocol presets, baselines, the BP-check schedule and discharge readiness."""

from datetime import UTC, datetime, timedelta

import pytest

from vitals.baseline import Baseline, compute_baselines
from vitals.clinical import PROTOCOL_DIR, load_protocol, protocol_names
from vitals.discharge import readiness
from vitals.errors import ConfigError
from vitals.reading import Param, Quality, Reading
from vitals.rules import Level
from vitals.schedule import next_due, overdue_checks

DOSE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def minutes(m: float) -> datetime:
    return DOSE + timedelta(minutes=m)


def test_presets_exist_and_load() -> None:
    assert {"iv-ketamine", "esketamine-nasal"} <= set(protocol_names())
    iv = load_protocol("iv-ketamine")
    assert iv.dose_mg_per_kg == 0.5 and iv.infusion_min == 40 and "weight_kg" in iv.requires
    assert load_protocol("esketamine-nasal").allowed_doses_mg == (56, 84)
    assert load_protocol("esketamine-nasal").discharge.min_minutes_after_dose == 120
    with pytest.raises(ConfigError, match="known: esketamine-nasal, iv-ketamine"):
        load_protocol("im-ketamine")


@pytest.mark.parametrize("name", ["iv-ketamine", "esketamine-nasal", "no-session"])
def test_every_default_names_its_source(name: str) -> None:
    protocol = load_protocol(name)
    assert all(len(rule.source) > 20 for rule in protocol.rules.rules), "a rule without a source"
    if name != "no-session":
        for part in (protocol, protocol.baseline, protocol.schedule, protocol.discharge):
            assert len(part.source) > 20


def test_crisis_thresholds_match_the_guidance() -> None:
    rules = load_protocol("iv-ketamine").rules
    assert rules.by_name("sbp-high").threshold(Level.CRITICAL) == 180
    assert rules.by_name("dbp-high").threshold(Level.CRITICAL) == 120
    assert rules.by_name("sbp-high").threshold(Level.WARNING) == 165
    assert rules.by_name("spo2-low").threshold(Level.WARNING) == 90
    assert load_protocol("esketamine-nasal").rules.by_name("pre-dose-sbp").phase == "pre-dose"


def test_protocol_files_are_all_valid_toml_with_known_keys() -> None:
    for path in PROTOCOL_DIR.glob("*.toml"):
        if path.stem != "common-rules":
            load_protocol(path.stem)


def reading(param: Param, value: float, m: float, quality: Quality = Quality.OK) -> Reading:
    return Reading(param, value, quality).stamped("c1", minutes(m), "t")


def test_baseline_is_the_median_of_the_window_before_the_dose() -> None:
    spec = load_protocol("iv-ketamine").baseline
    readings = [
        reading(Param.SBP, v, m)
        for v, m in ((200, -20), (120, -14), (130, -10), (190, -5), (125, -1))
    ]
    readings += [reading(Param.SBP, 250, -3, Quality.INVALID), reading(Param.SBP, 300, 1)]
    base = compute_baselines(spec, readings, DOSE)[Param.SBP]
    assert base.value == 127.5  # median of 120, 130, 190, 125: not the invalid, not after the dose
    assert base.source == "median of 4 readings in the 15 min before the dose"


def test_baseline_with_too_few_readings_states_its_fallback() -> None:
    spec = load_protocol("iv-ketamine").baseline
    one = compute_baselines(spec, [reading(Param.SBP, 131, -2)], DOSE)
    assert one[Param.SBP].value == 131 and "protocol asks for 2" in one[Param.SBP].source
    none = compute_baselines(spec, [], DOSE)[Param.HR]
    assert none.value is None and "relative rules inactive" in none.source
    entered = compute_baselines(spec, [], DOSE, {Param.SBP: 128})[Param.SBP]
    assert (entered.value, entered.source) == (128, "entered by hand")


def test_schedule_due_times_follow_the_phases() -> None:
    schedule = load_protocol("iv-ketamine").schedule
    assert next_due(schedule, DOSE, None) == minutes(10)
    assert next_due(schedule, DOSE, minutes(38)) == minutes(48)  # during the infusion: +10
    assert next_due(schedule, DOSE, minutes(41)) == minutes(56)  # after it: +15


@pytest.mark.parametrize(("now_min", "overdue"), [(11.9, False), (12.0, False), (12.1, True)])
def test_overdue_at_exact_due_time_plus_grace(now_min: float, overdue: bool) -> None:
    schedule = load_protocol("iv-ketamine").schedule  # due at 10 min, grace 2 min
    found = overdue_checks(schedule, DOSE, [], minutes(now_min))
    assert bool(found) is overdue
    if overdue:
        assert (
            found[0].due == minutes(10)
            and found[0].started == minutes(12)
            and found[0].ended is None
        )


def test_checks_in_time_are_never_overdue_and_late_ones_end_at_the_check() -> None:
    schedule = load_protocol("iv-ketamine").schedule
    on_time = [minutes(m) for m in (10, 20, 31.5, 40)]
    assert overdue_checks(schedule, DOSE, on_time, minutes(41)) == []
    [late] = overdue_checks(schedule, DOSE, [minutes(10), minutes(25)], minutes(26))
    assert (late.due, late.started, late.ended) == (minutes(20), minutes(22), minutes(25))


def test_discharge_readiness_says_why() -> None:
    criteria = load_protocol("esketamine-nasal").discharge
    base = {Param.SBP: Baseline(Param.SBP, 130, "median")}
    early = readiness(criteria, DOSE, minutes(90), [(155, 95), (152, 92)], base, ["sbp-high"])
    assert not early.ready
    assert "90 of 120 min" in str(early) and "open alerts: sbp-high" in str(early)
    assert "not all below 140/90" in str(early)
    ready = readiness(criteria, DOSE, minutes(125), [(149, 95), (138, 85)], base, [])
    assert ready.ready, str(ready)  # 149 is within 20 of baseline 130; 138/85 is below 140/90
    assert str(ready).startswith("ready for discharge: 125 min observed")
    assert not readiness(criteria, None, minutes(200), [], base, []).ready
