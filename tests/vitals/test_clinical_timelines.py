"""Clinical cases as a nurse's timeline: what the monitors showed minute by minute, what the
nurse did, and the alarms and verdicts Chairside must give. Each case is a row of
docs/hazards.md; the expected results were worked out by hand from the protocol presets."""

import pytest

from tests.vitals.nurse_timeline import Timeline, clock
from vitals.reading import Param, Quality


def iv_patient(**kw) -> Timeline:
    """An IV patient: session 08:45, two cuff results before the 09:00 infusion start."""
    t = Timeline("iv-ketamine", **kw)
    t.cuff("08:50", 124, 78)
    t.cuff("08:55", 122, 76)
    t.dose("09:00")
    return t


# heart rate from the best source ------------------------------------------------------------


def test_oximeter_pulse_alone_is_watched_like_a_heart_rate() -> None:
    """09:10 a chair with only an oximeter shows pulse 160 for a minute, 09:11 it is 90;
    09:20 pulse 40 for a minute, 09:21 it is 70."""
    t = iv_patient()
    t.every(Param.PULSE, "09:10", "09:11", 160)
    t.every(Param.PULSE, "09:11", "09:12", 90)
    t.every(Param.PULSE, "09:20", "09:21", 40)
    t.every(Param.PULSE, "09:21", "09:22", 70)
    assert t.alarms() == [
        ("09:10", "hr-high", "critical", "09:11"),  # beyond 150: at its first reading
        ("09:20", "hr-low", "warning", "09:21"),  # below 50 for 30 s
    ]
    first = t.episodes()[0]
    assert first.reason == "HR (oximeter pulse) 160 > 150 for 1 reading (critical)"


def test_ecg_leads_off_and_the_pulse_takes_over_one_alarm() -> None:
    """09:10 ECG HR 130 (every 5 s) and pulse 131 (every second); 09:11 the ECG leads come off
    (the monitor sends HR 0, invalid); 09:12 the pulse is 80."""
    t = iv_patient()
    t.every(Param.HR, "09:10", "09:11", 130, step_s=5)
    t.every(Param.HR, "09:11", "09:13", 0, step_s=5, quality=Quality.INVALID)
    t.every(Param.PULSE, "09:10", "09:12", 131)
    t.every(Param.PULSE, "09:12", "09:13", 80)
    assert t.alarms() == [("09:10", "hr-high", "warning", "09:12")]  # one, not two
    [episode] = [e for e in t.episodes() if e.rule == "hr-high"]
    assert episode.reason.startswith("HR (ECG) 130 > 120 for 7 readings over 30 s (warning)")
    assert episode.reason.endswith("; heart rate now from oximeter pulse")
    assert t.alarms("technical") == [("09:11", "invalid-hr", "advisory", None)]


def test_ecg_and_pulse_both_valid_never_ring_twice() -> None:
    """09:10 ECG HR 160 and pulse 158, both every second, for 10 s."""
    t = iv_patient()
    for moment in range(10):
        at = f"09:10:{moment:02d}"
        t.add(Param.HR, at, 160)
        t.add(Param.PULSE, at, 158)
    [episode] = t.episodes()
    assert (episode.rule, episode.level.label, episode.peak_value) == ("hr-high", "critical", 160)
    assert episode.reason == "HR (ECG) 160 > 150 for 1 reading (critical)"


def test_a_chair_can_prefer_its_oximeter() -> None:
    """heart_rate = ["pulse", "hr"]: with both valid the pulse leads."""
    t = iv_patient(heart_rate=("pulse", "hr"))
    t.add(Param.HR, "09:10", 90)
    t.add(Param.PULSE, "09:10", 152)
    [episode] = t.episodes()
    assert "(oximeter pulse) 152" in episode.reason


# NIBP rules fit how a cuff measures -----------------------------------------------------------


def test_a_single_very_low_cuff_result_alarms_at_once() -> None:
    """09:20 the cuff reads 60/35 (MAP 43); 09:30 it reads 118/74."""
    t = iv_patient()
    t.cuff("09:10", 126, 80)
    t.cuff("09:20", 60, 35, 43)
    t.cuff("09:30", 118, 74)
    assert t.alarms() == [
        ("09:20", "map-low", "critical", "09:30"),
        ("09:20", "sbp-low", "critical", "09:30"),
    ]


@pytest.mark.parametrize(
    ("sbp", "dbp", "expected"),
    [
        (159, 99, []),
        (160, 99, [("09:10", "sbp-high", "warning", None)]),  # NICE: 160 or higher
        (150, 100, [("09:10", "dbp-high", "warning", None)]),
        (182, 96, [("09:10", "sbp-high", "critical", None)]),
        (90, 60, []),
        (89, 60, [("09:10", "sbp-low", "warning", None)]),  # monitors: below 90
    ],
)
def test_one_cuff_result_at_the_edges(sbp: float, dbp: float, expected: list) -> None:
    """09:10 one cuff result; the next cuff cycle is not waited for. (The rise above this
    patient's baseline of 123 is its own rule, checked below.)"""
    t = iv_patient()
    t.cuff("09:10", sbp, dbp)
    assert [a for a in t.alarms() if a[1] != "sbp-rise"] == expected


def test_a_rise_above_the_patients_own_baseline() -> None:
    """Baseline 123 (median of 124 and 122): +30 is 153, +40 is 163."""
    t = iv_patient()
    t.cuff("09:10", 152, 80)
    t.cuff("09:20", 153, 80)
    t.cuff("09:30", 163, 82)
    t.cuff("09:40", 147, 80)  # below 153 - 5
    assert t.alarms() == [
        ("09:20", "sbp-rise", "warning", "09:40"),
        ("09:30", "sbp-high", "warning", "09:40"),
    ]


@pytest.mark.parametrize(
    ("value", "seconds", "expected"),
    [
        (120, 60, []),
        (121, 29, []),
        (121, 31, [("09:10", "hr-high", "warning", None)]),
        (151, 1, [("09:10", "hr-high", "critical", None)]),
    ],
)
def test_heart_rate_edges(value: float, seconds: int, expected: list) -> None:
    """From 09:10 the ECG HR is ``value`` for ``seconds`` (every second)."""
    t = iv_patient()
    t.every(Param.HR, "09:10", f"09:10:{seconds:02d}" if seconds < 60 else "09:11", value)
    assert t.alarms() == expected


@pytest.mark.parametrize(
    ("value", "seconds", "expected"),
    [
        (90, 59, []),
        (89, 15, []),  # readings at 0..14 s: 14 s below
        (89, 16, [("09:10", "spo2-low", "warning", None)]),  # 15 s below
        (85, 16, [("09:10", "spo2-low", "warning", None)]),
        (84, 1, [("09:10", "spo2-low", "critical", None)]),
    ],
)
def test_spo2_edges(value: float, seconds: int, expected: list) -> None:
    t = iv_patient()
    t.every(Param.SPO2, "09:10", f"09:10:{seconds:02d}", value)
    assert t.alarms() == expected


# pre-dose ----------------------------------------------------------------------------------------


def esketamine_after_dose(t: Timeline, until: str = "09:50") -> None:
    t.every(Param.HR, "09:00", until, 72, step_s=5)
    t.every(Param.SPO2, "09:00", until, 98, step_s=5)


def test_esketamine_dosed_without_a_pre_dose_bp_warns_at_the_dose() -> None:
    """08:45 session opened; 09:05 Nurse Ben gives the spray, no BP was taken; 09:45 the
    first cuff result, 128/80."""
    t = Timeline("esketamine-nasal")
    t.dose("09:05", by="Nurse Ben")
    esketamine_after_dose(t)
    t.cuff("09:45", 128, 80)
    assert t.alarms() == [("09:05", "no-pre-dose-bp", "warning", "09:45")]
    assert "dose given by Nurse Ben with no blood pressure" in t.episodes()[0].reason


def test_a_pre_dose_bp_entered_by_hand_is_enough() -> None:
    t = Timeline("esketamine-nasal")
    t.enter_baseline(sbp=126, dbp=80)
    t.dose("09:05")
    esketamine_after_dose(t)
    assert t.alarms() == []


def test_the_previous_patients_readings_are_not_this_patients_baseline() -> None:
    """05:04-05:14 the previous patient's cuff results (170/100) in the same chair; 05:18 a new
    session opens; 05:19 the infusion starts."""
    t = Timeline("iv-ketamine", session_start="05:18")
    for at in ("05:04", "05:09", "05:14"):
        t.cuff(at, 170, 100)
    t.dose("05:19")
    t.every(Param.HR, "05:19", "05:20", 70, step_s=5)
    baselines = t.baselines()
    assert baselines[Param.SBP].value is None and baselines[Param.SBP].needs_entry
    assert t.alarms() == [("05:19", "no-pre-dose-bp", "warning", None)]


def test_pre_dose_advisories_end_at_the_dose_and_never_hold_the_patient() -> None:
    """08:55 cuff 150/95 (above the label's 140/90); 09:00 Nurse Ben gives the spray anyway;
    09:40 165/98; 10:10 150/94; 10:40 148/92; 10:55 146/90; discharge asked at 11:05."""
    t = Timeline("esketamine-nasal")
    t.cuff("08:55", 150, 95)
    t.dose("09:00", by="Nurse Ben")
    esketamine_after_dose(t, until="11:05")
    for at, sbp, dbp in (("09:40", 165, 98), ("10:10", 150, 94), ("10:40", 148, 92)):
        t.cuff(at, sbp, dbp)
    t.cuff("10:55", 146, 90)
    assert t.alarms() == [
        ("08:55", "pre-dose-dbp", "advisory", "09:00"),
        ("08:55", "pre-dose-sbp", "advisory", "09:00"),
        ("09:40", "sbp-high", "warning", "10:10"),
    ]
    pre = next(e for e in t.episodes() if e.rule == "pre-dose-sbp")
    assert pre.reason.endswith("(ended at the dose, given by Nurse Ben despite this alert)")
    verdict = t.verdict("11:05")
    assert verdict.ready, str(verdict)  # 146/90 is within 20 % of the patient's own 150/95
    assert verdict.ready_after_min == 70  # 10:10: BP after the peak, two settled, none open


# the BP schedule is anchored to the dose ---------------------------------------------------


def test_an_extra_check_never_moves_a_later_one() -> None:
    """IV infusion 09:00; cuff 09:10, an extra one at 09:13, then 09:20, 09:30, 09:40."""
    t = iv_patient()
    for at in ("09:10", "09:13", "09:20", "09:30", "09:40"):
        t.cuff(at, 126, 80)
    assert t.overdue("09:45") == []
    [late] = t.overdue("09:58")  # 09:55 was due, not taken by 09:57
    assert (late.due, late.started, late.ended) == (clock("09:55"), clock("09:57"), None)


def test_the_esketamine_40_minute_check_stays_at_40_minutes() -> None:
    """09:00 spray; 09:10 an early check; nothing at 09:40; 09:50 the cuff is taken."""
    t = Timeline("esketamine-nasal")
    t.cuff("08:55", 120, 78)
    t.dose("09:00")
    t.cuff("09:10", 128, 80)
    t.cuff("09:50", 130, 82)
    [late] = t.overdue("10:00")
    assert (late.due, late.started, late.ended) == (clock("09:40"), clock("09:45"), clock("09:50"))


def test_checks_missed_in_a_row_are_one_overdue_alarm() -> None:
    """IV infusion 09:00; the cuff is forgotten until 09:35; nothing again at 09:40."""
    t = iv_patient()
    t.cuff("09:35", 130, 82)
    first, second = t.overdue("09:45")
    assert (first.due, first.started, first.ended, first.missed) == (
        clock("09:10"),
        clock("09:12"),
        clock("09:35"),
        3,  # due 09:10, 09:20 and 09:30
    )
    assert (second.due, second.started, second.ended) == (clock("09:40"), clock("09:42"), None)


# discharge readiness --------------------------------------------------------------------------


def test_no_discharge_on_early_readings_alone() -> None:
    """08:55 120/78; 09:00 spray; cuff 09:05 and 09:10 only; discharge asked at 11:05."""
    t = Timeline("esketamine-nasal")
    t.cuff("08:55", 120, 78)
    t.dose("09:00")
    t.cuff("09:05", 124, 80)
    t.cuff("09:10", 126, 80)
    verdict = t.verdict("11:05")
    assert not verdict.ready
    assert verdict.unmet == (
        "no BP yet after the expected peak at 40 min",
        "newest BP is 115 min old (at most 15): take one",
    )
    assert verdict.would_have_been_ready is None


def test_diastolic_28_above_baseline_keeps_the_patient() -> None:
    """Baseline 120/78; after the spray the SBP settles but the DBP stays at 106."""
    t = Timeline("esketamine-nasal")
    t.cuff("08:55", 120, 78)
    t.dose("09:00")
    for at, sbp in (("09:40", 138), ("10:50", 135), ("10:58", 132)):
        t.cuff(at, sbp, 106)
    verdict = t.verdict("11:05")
    assert not verdict.ready
    assert any("SBP and DBP not each within 20 % of baseline" in u for u in verdict.unmet)


def test_would_have_been_ready_at_plus_95_minutes() -> None:
    """08:55 124/80; 09:00 spray; 09:40 150/96; 10:10 146/94; 10:35 138/88; 10:55 130/84."""
    t = Timeline("esketamine-nasal")
    t.cuff("08:55", 124, 80)
    t.dose("09:00")
    for at, sbp, dbp in (("09:40", 150, 96), ("10:10", 146, 94), ("10:35", 138, 88)):
        t.cuff(at, sbp, dbp)
    at_100 = t.verdict("10:40")
    assert not at_100.ready and at_100.unmet == ("100 of 120 min observed since the dose",)
    assert at_100.ready_after_min == 95  # 10:35: the REMS form's "ready to leave" answer
    assert not t.verdict("11:05").ready  # newest BP 30 min old: take one
    t.cuff("10:55", 130, 84)
    verdict = t.verdict("11:05")
    assert verdict.ready and verdict.ready_after_min == 95
    assert str(verdict).endswith(
        "(would have been ready at +95 min without the minimum observation)"
    )


def test_an_unacknowledged_critical_holds_the_patient_until_acknowledged() -> None:
    """IV: 09:40 cuff 184/104 (SBP critical, DBP warning), 09:55 150/90, then settled; the
    nurse acknowledges the SBP alarm at 11:12. The DBP warning ended at 09:55 and holds no one;
    the critical one latches until acknowledged."""
    t = iv_patient()
    t.cuff("09:40", 184, 104)
    for at, sbp, dbp in (("09:55", 150, 90), ("10:50", 132, 82), ("11:05", 128, 80)):
        t.cuff(at, sbp, dbp)
    held = t.verdict("11:10")
    assert not held.ready and held.unmet == ("alerts waiting for a nurse: sbp-high",)
    t.acknowledge("sbp-high", "11:12")
    assert t.verdict("11:15").ready
