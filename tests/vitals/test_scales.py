"""Nurse-rated scales from the protocol files, their due times, and PHQ-9 scoring over a course."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.vitals.nurse_timeline import clock
from vitals.clinical import protocol_names
from vitals.errors import ConfigError
from vitals.questionnaires import Phq9, judge_course, side_effect_report
from vitals.scales import protocol_scales, scale_named, scales_due


@pytest.mark.parametrize("protocol", protocol_names())
def test_every_protocol_rates_sedation_dissociation_and_breathing_with_sources(
    protocol: str,
) -> None:
    scales = {s.name: s for s in protocol_scales(protocol)}
    assert set(scales) == {"sedation", "dissociation", "respiratory"}
    assert (scales["sedation"].low, scales["sedation"].high) == (0, 5)
    assert scales["dissociation"].instrument == "CADSS"
    for scale in scales.values():
        assert scale.source and scale.minutes[0] == 0 and 40 in scale.minutes


def test_when_a_score_means_the_patient_experienced_it() -> None:
    sedation = scale_named("esketamine-nasal", "sedation")
    dissociation = scale_named("esketamine-nasal", "dissociation")
    assert [sedation.present(s) for s in (5, 4, 3, 0)] == [False, True, True, True]
    assert [dissociation.present(s) for s in (0, 4, 5, 30)] == [False, False, True, True]
    assert sedation.label(4).startswith("4 - lethargic")
    with pytest.raises(ConfigError, match="outside 0-5"):
        sedation.check(6)


def test_scales_fall_due_like_bp_checks_and_say_overdue() -> None:
    dose = clock("09:00")
    rated = {"sedation": [clock("08:58")], "dissociation": [clock("08:58")]}
    due = scales_due("esketamine-nasal", dose, rated, clock("09:05"))
    # respiratory was never rated at 0 min; its grace (10 min) has not passed at 09:05
    assert [(d.scale.name, d.due, d.overdue) for d in due] == [
        ("respiratory", dose, False),
        ("sedation", dose + timedelta(minutes=40), False),
        ("dissociation", dose + timedelta(minutes=40), False),
    ]
    late = scales_due("esketamine-nasal", dose, rated, clock("09:51"))
    assert [(d.scale.name, d.overdue) for d in late][:3] == [
        ("respiratory", True),
        ("sedation", True),
        ("dissociation", True),
    ]
    rated["sedation"].append(clock("09:45"))  # 5 min late still counts for +40
    after = scales_due("esketamine-nasal", dose, rated, clock("09:51"))
    assert ("sedation", dose + timedelta(minutes=90), False) in [
        (d.scale.name, d.due, d.overdue) for d in after
    ]
    assert scales_due("esketamine-nasal", None, rated, clock("09:51")) == []


def test_phq9_scoring_and_severity() -> None:
    phq = Phq9((3, 3, 2, 2, 1, 1, 1, 0, 1))
    assert (phq.total, phq.severity, phq.self_harm_flag) == (14, "moderate", True)
    assert Phq9.from_event_text(phq.event_text()) == phq
    assert Phq9((0,) * 9).severity == "minimal"
    assert Phq9((3,) * 9).severity == "severe"
    with pytest.raises(ConfigError, match="nine answers"):
        Phq9((1, 2, 3))
    with pytest.raises(ConfigError):
        Phq9((4, 0, 0, 0, 0, 0, 0, 0, 0))


def test_response_is_half_the_first_total_and_remission_below_five() -> None:
    points = judge_course([20, 14, 11, 10, 4])
    assert [p.response for p in points] == [False, False, False, True, True]
    assert [p.remission for p in points] == [False, False, False, False, True]
    assert points[3].change_pct == -50.0
    assert points[0].change_pct is None
    assert [p.response for p in judge_course([0, 0])] == [False, False]
    assert judge_course([]) == []


def test_side_effect_checklist_keeps_what_was_reported_in_order() -> None:
    assert side_effect_report({"Nausea": 2, "Dizziness": 1, "Headache": 0}) == [
        ("Dizziness", 1),
        ("Nausea", 2),
    ]
    with pytest.raises(ConfigError, match="unknown side effect"):
        side_effect_report({"Hiccups": 1})
    with pytest.raises(ConfigError, match="severity"):
        side_effect_report({"Nausea": 5})
